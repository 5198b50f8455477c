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
#include <string>
#include <vector>

#include "helpers.h"

constexpr std::size_t kBufSize = 1024;  // client.recvfrom(1024)
constexpr const char* kUsage =
    "client [--timeout SECONDS] [host] [port] [message ...]   "
    "(default 2 s, 127.0.0.1 9939, \"hello socket\"; each message is one datagram)";

// "2" or "0.5" -> how long to wait for each reply. 0 is refused: to SO_RCVTIMEO it means "forever".
double parse_seconds(const char* text) {
    char* end = nullptr;
    errno = 0;
    const double seconds = std::strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno != 0 || !(seconds >= 0.001 && seconds <= 3600)) {
        usage_error("client", kUsage, std::string("bad timeout '") + text + "': want seconds, 0.001-3600");
    }
    return seconds;
}

int main(int argc, char* argv[]) {
    double timeout = 2.0;
    std::string host = "127.0.0.1";
    std::uint16_t port = 9939;
    std::vector<std::string> messages;
    if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
        std::printf("usage: %s\n", kUsage);
        return 0;
    }
    int next = 1;
    if (next < argc && std::string(argv[next]) == "--timeout") {
        if (next + 1 >= argc) usage_error("client", kUsage, "--timeout needs a number of seconds");
        timeout = parse_seconds(argv[next + 1]);
        next += 2;
    }
    if (next < argc && argv[next][0] == '-') {
        usage_error("client", kUsage, std::string("unknown option '") + argv[next] + "'");
    }
    if (next < argc) host = argv[next++];
    if (next < argc) port = parse_port("client", argv[next++], /*zero_allowed=*/false, kUsage);
    messages.assign(argv + next, argv + argc);  // "" stays: an empty datagram is a real message
    if (messages.empty()) messages.push_back("hello socket");

    // 1. socket: the same kind as the server's, UDP over IPv4
    Fd sock{::socket(AF_INET, SOCK_DGRAM, 0)};
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
                    quoted(message.data(), message.size()).c_str());
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
        std::printf("%s: %s\n", line.c_str(), quoted(buf, kept).c_str());
        std::fflush(stdout);
        ++replies;
    }

    // 4. close: sock closes itself (Fd's destructor)
    return 0;
}
