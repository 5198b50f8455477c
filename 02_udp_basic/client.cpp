// Lesson 02 — UDP client: send each message as its own datagram, print one reply per message.
//
// Usage:    ./client [--timeout SECONDS] [host] [port] [message ...]
//           default: 2 s, 127.0.0.1 9939, one message "hello socket"; "" sends an empty datagram
// Partner:  ./server [host] [port]
// Mirrors:  tutorial 000 §二.2 套接字基于udp协议的工作流程 (客户端): socket → sendto →
//           recvfrom → close; 001 UDP通信实例 socket_client_udp; 002 §2 end (UDP永远不会粘包),
//           §3 (对于空消息); 003 §一.3 (SOCK_DGRAM: 数据错了就错了,无法重传).
//
// No connect: every sendto names its receiver (003 §二.4: "UDP是面向无连接的,每次发送要指定是发给谁").
// All messages are sent first and the replies collected after, so that two
// datagrams really are in flight together — and still arrive as two.
// UDP may lose a datagram and nobody resends it, so each recvfrom waits at
// most SECONDS; then the client says so and exits 1 instead of waiting forever.

#include <sys/time.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "socket_core.h"
#include "command_line.h"
#include "quoted.h"

constexpr std::size_t kBufSize = 1024;  // client.recvfrom(1024)
constexpr const char* kUsage =
    "client [--timeout SECONDS] [host] [port] [message ...]   "
    "(default 2 s, 127.0.0.1 9939, \"hello socket\"; each message is one datagram)";

int main(int argc, char* argv[]) {
    // Options before or after the rest; `--` before a message that starts with '-'.
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {"--timeout SECONDS"}, SIZE_MAX);
    double timeout = 2.0;
    std::string host = "127.0.0.1";
    std::uint16_t port = 9939;
    for (const auto& [option, value] : line.options) timeout = parse_seconds("client", kUsage, option, value);
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("client", line.positional[1], /*zero_allowed=*/false, kUsage);
    std::vector<std::string> messages;  // "" stays: an empty datagram is a real message
    if (line.positional.size() > 2) messages.assign(line.positional.begin() + 2, line.positional.end());
    if (messages.empty()) messages.push_back("hello socket");

    std::signal(SIGPIPE, SIG_IGN);  // `client | head -1`: a reader that went away is EPIPE, never death

    // 1. socket: the same kind as the server's, UDP over IPv4
    Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("client: socket");
    // A lost datagram is never resent (003 §一.3: 无法重传), so a plain recvfrom could wait forever.
    // SO_RCVTIMEO makes it give up with EAGAIN after `timeout` seconds.
    timeval wait_at_most{};
    wait_at_most.tv_sec = static_cast<time_t>(timeout);
    wait_at_most.tv_usec = static_cast<suseconds_t>((timeout - static_cast<double>(wait_at_most.tv_sec)) * 1e6);
    if (::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &wait_at_most, sizeof wait_at_most) < 0) {
        die("client: setsockopt");
    }

    // 2. sendto: each message is one datagram, whole or not at all; the kernel picks our port on the first one
    const sockaddr_in server = ipv4_address("client", host, port);
    for (const std::string& message : messages) {
        ssize_t sent;
        do {
            sent = ::sendto(sock.fd, message.data(), message.size(), 0,
                            reinterpret_cast<const sockaddr*>(&server), sizeof server);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) die("client: sendto");  // e.g. "Message too long" above 65507 bytes
        std::printf("sendto -> %zd bytes to %s: %s\n", sent, to_string(server).c_str(),
                    quoted(message).c_str());
        std::fflush(stdout);
    }

    // 3. recvfrom: one reply per datagram sent, each one its own recvfrom result
    char buf[kBufSize];
    for (std::size_t replies = 0; replies < messages.size();) {
        sockaddr_in from{};
        socklen_t from_len = sizeof from;
        const ssize_t received = ::recvfrom(sock.fd, buf, sizeof buf, MSG_TRUNC,
                                            reinterpret_cast<sockaddr*>(&from), &from_len);
        if (received < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                std::fprintf(stderr, "client: recvfrom: no reply within %g s "
                             "(UDP does not resend lost datagrams; is the server running?)\n", timeout);
                return 1;
            }
            die("client: recvfrom");
        }
        // 0 bytes is the reply to an empty datagram, not "end of stream": UDP has no stream to end.
        const auto size = static_cast<std::size_t>(received);
        const std::size_t kept = std::min(size, sizeof buf);
        std::string line = "recvfrom -> " + std::to_string(size) + " bytes from " + to_string(from);
        if (kept < size) line += " (truncated to " + std::to_string(kept) + ": the rest is lost)";
        std::printf("%s: %s\n", line.c_str(), quoted(std::string_view(buf, kept)).c_str());
        std::fflush(stdout);
        ++replies;
    }

    // 4. close: sock closes itself (Fd's destructor)
    return 0;
}
