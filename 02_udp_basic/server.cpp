// Lesson 02 — UDP server: send every datagram back upper-cased, forever.
//
// Usage:    ./server [host] [port]      default 127.0.0.1 9939; port 0 = any free port
// Partner:  ./client [--timeout SECONDS] [host] [port] [message ...]
// Mirrors:  tutorial 000 §二.2 套接字基于udp协议的工作流程 (服务端): socket → bind →
//           recvfrom → sendto; 001 UDP通信实例 socket_server_udp.py (while True: recv);
//           002 §2 end (UDP永远不会粘包), §3 (对于空消息);
//           003 §一.3 SOCK_DGRAM.
//
// No listen, no accept: UDP has no connections. One socket receives datagrams
// from anyone, and recvfrom says who sent each one so that sendto can answer.
// Each recvfrom returns exactly one datagram — never two glued together, never
// half of one — and an empty datagram is a real message, answered like any other.
// Setup errors end the program (die); an error with one datagram is said in the same
// `server: call: reason` form and the server goes on with the next. Stop it with Ctrl-C.

#include <algorithm>
#include <cctype>
#include <csignal>
#include <string>

#include "socket_core.h"
#include "command_line.h"
#include "datagram_log.h"

constexpr std::size_t kBufSize = 1024;  // server.recvfrom(1024): at most 1024 bytes per datagram
constexpr const char* kUsage = "server [host] [port]   (default 127.0.0.1 9939; port 0 = any free port)";

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("server", kUsage, argc, argv, {}, 2);
    const std::string host = line.positional.size() > 0 ? line.positional[0] : "127.0.0.1";
    const std::uint16_t port = line.positional.size() > 1
        ? parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage) : 9939;
    std::signal(SIGPIPE, SIG_IGN);  // `server | head -1`: a reader that went away is EPIPE, never death

    // 1. socket: AF_INET + SOCK_DGRAM = IPv4 + UDP (tutorial: "基于UDP协议的报式套接字对象")
    Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("server: socket");

    // 2. bind: claim the (host, port) address; datagrams sent there now queue up for us
    const sockaddr_in address = ipv4_address("server", host, port);
    if (::bind(sock.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    // With port 0 the kernel chose the port: ask which one, and say it (the harness waits for this line).
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s (udp)\n", to_string(bound).c_str());
    std::fflush(stdout);

    char buf[kBufSize];
    for (;;) {  // like 001's socket_server_udp.py: while True
        // 3. recvfrom: wait for ONE datagram and learn who sent it (data, client_addr = server.recvfrom(1024)).
        //    A datagram bigger than buf is cut to fit and the rest is lost; MSG_TRUNC (Linux) makes
        //    recvfrom return its real size anyway, so that the log can say it happened.
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        const ssize_t received = ::recvfrom(sock.fd, buf, sizeof buf, MSG_TRUNC,
                                            reinterpret_cast<sockaddr*>(&client), &client_len);
        if (received < 0) {  // no datagram to blame it on; say so and wait for the next one
            if (errno != EINTR) std::fprintf(stderr, "server: recvfrom: %s\n", std::strerror(errno));
            continue;
        }
        // received == 0 is an empty datagram, a message like any other (on TCP, 0 would mean "connection closed").
        const auto size = static_cast<std::size_t>(received);
        const std::size_t kept = std::min(size, sizeof buf);
        print_received(size, client, buf, kept);  // print(data.decode('utf-8'))

        // 4. sendto: answer that sender with the upper-cased bytes (server.sendto(data.upper(), client_addr)).
        //    One sendto is one datagram, sent whole or not at all: there is no partial send to loop over.
        std::transform(buf, buf + kept, buf, [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        ssize_t sent;
        do {
            sent = ::sendto(sock.fd, buf, kept, 0, reinterpret_cast<const sockaddr*>(&client), client_len);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) {  // this reply is lost; the server goes on with the next datagram
            std::fprintf(stderr, "server: sendto: %s (reply to %s dropped)\n", std::strerror(errno),
                         to_string(client).c_str());
        }
    }
    // 5. close: never reached; the socket closes when the process ends (Ctrl-C)
}
