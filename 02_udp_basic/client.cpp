// Lesson 02 — UDP client: send each message as its own datagram, print one reply per message.
//
// Usage:    ./client [--timeout SECONDS] [host] [port] [message ...]
//           default: 2 s, 127.0.0.1 9939, one message "hello socket"; "" sends an empty datagram
// Partner:  ./server [host] [port]
// Mirrors:  tutorial 000 §二.2 套接字基于udp协议的工作流程 (客户端): socket → sendto →
//           recvfrom → close; 001 UDP通信实例 socket_client_udp; 002 §2 end (UDP永远不会粘包),
//           §3 (对于空消息); 003 §一.3 (SOCK_DGRAM: 数据错了就错了,无法重传).
//
// No connect: every sendto names its receiver (003 §二.4: "UDP是面向无连接的,每次发送要指定是发给谁"),
// and every recvfrom says who sent the datagram. Anyone may send to our port, so only a datagram
// from the server's address counts as its reply; any other is named and ignored (server_reply.h).
// All messages are sent first and the replies collected after, so that two datagrams really are
// in flight together — and still arrive as two. UDP may lose a datagram and nobody resends it,
// so each reply is waited for at most SECONDS; then the client says so and exits 1.

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "socket_core.h"
#include "command_line.h"
#include "datagram_log.h"
#include "server_reply.h"

constexpr std::size_t kBufSize = 1024;  // client.recvfrom(1024)
constexpr const char* kUsage =
    "client [--timeout SECONDS] [host] [port] [message ...]   "
    "(default 2 s, 127.0.0.1 9939, \"hello socket\"; each message is one datagram)";

int main(int argc, char* argv[]) {
    // Options before or after the rest; `--` before a message that starts with '-'.
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {"--timeout SECONDS"}, SIZE_MAX);
    double timeout = 2.0;
    for (const auto& [option, value] : line.options) timeout = parse_seconds("client", kUsage, option, value);
    const std::string host = line.positional.size() > 0 ? line.positional[0] : "127.0.0.1";
    const std::uint16_t port = line.positional.size() > 1
        ? parse_port("client", line.positional[1], /*zero_allowed=*/false, kUsage) : 9939;
    std::vector<std::string> messages{"hello socket"};  // "" stays: an empty datagram is a real message
    if (line.positional.size() > 2) messages.assign(line.positional.begin() + 2, line.positional.end());
    std::signal(SIGPIPE, SIG_IGN);  // `client | head -1`: a reader that went away is EPIPE, never death

    // 1. socket: the same kind as the server's, UDP over IPv4
    Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("client: socket");

    // 2. sendto: each message is one datagram, whole or not at all; the kernel picks our port on the first one
    const sockaddr_in server = ipv4_address("client", host, port);
    for (const std::string& message : messages) {
        ssize_t sent;
        do {
            sent = ::sendto(sock.fd, message.data(), message.size(), 0,
                            reinterpret_cast<const sockaddr*>(&server), sizeof server);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) die("client: sendto");  // e.g. "Message too long" above 65507 bytes
        print_sent(static_cast<std::size_t>(sent), server, message);
    }

    // 3. recvfrom: one reply per datagram sent, each one its own recvfrom result
    char buf[kBufSize];
    for (std::size_t replies = 0; replies < messages.size(); ++replies) {
        const long long deadline = deadline_after(timeout);  // a stranger's datagram does not move it
        for (;;) {
            if (!wait_no_later_than(sock.fd, deadline)) no_reply_within(timeout);
            sockaddr_in from{};
            socklen_t from_len = sizeof from;
            const ssize_t received = ::recvfrom(sock.fd, buf, sizeof buf, MSG_TRUNC,
                                                reinterpret_cast<sockaddr*>(&from), &from_len);
            if (received < 0 && (errno == EINTR || errno == EAGAIN)) continue;  // the deadline decides
            if (received < 0) die("client: recvfrom");
            // 0 bytes is the reply to an empty datagram, not "end of stream": UDP has no stream to end.
            const auto size = static_cast<std::size_t>(received);
            if (from_the_server(from, server)) {
                print_received(size, from, buf, std::min(size, sizeof buf));
                break;
            }
            print_ignored(size, from, server);  // UDP has no connection: anyone can send to our port
        }
    }

    // 4. close: sock closes itself (Fd's destructor)
    return 0;
}
