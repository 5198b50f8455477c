// Lesson 01 — TCP client: send one message, print the server's reply.
//
// Usage:    ./client [host] [port] [message]   default 127.0.0.1 9939 "hello socket"
// Partner:  ./server [host] [port]
// Mirrors:  tutorial 000 §二.1 (客户端) and 003 §二.3 客户端过程:
//           socket → connect → send → recv → close.

#include <string>

#include "socket_core.h"

constexpr std::size_t kBufSize = 1024;  // client.recv(1024)
constexpr const char* kUsage = "client [host] [port] [message]   (default 127.0.0.1 9939 \"hello socket\")";

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {}, 3);  // quote a message with spaces
    std::string host = "127.0.0.1";
    std::uint16_t port = 9939;
    std::string message = "hello socket";
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("client", line.positional[1], /*zero_allowed=*/false, kUsage);
    if (line.positional.size() > 2) message = line.positional[2];

    // 1. socket: the same kind of socket as the server's, TCP over IPv4
    Fd sock{::socket(AF_INET, SOCK_STREAM, 0)};
    if (sock.fd < 0) die("client: socket");

    // 2. connect: the three-way handshake; the kernel picks our own port for us
    const sockaddr_in server = ipv4_address("client", host, port);
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");
    sockaddr_in local{};
    socklen_t local_len = sizeof local;
    if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&local), &local_len) < 0) die("client: getsockname");
    std::printf("connected from %s to %s\n", to_string(local).c_str(), to_string(server).c_str());

    // 3. send the whole message, then shut down our sending side: the server's
    //    recv() returns 0 once it has everything, which is how it knows we are done.
    if (!send_all(sock.fd, message.data(), message.size())) die("client: send");
    if (::shutdown(sock.fd, SHUT_WR) < 0) die("client: shutdown");

    // 4. recv until the server closes: the reply may come in more than one piece
    std::string reply;
    char buf[kBufSize];
    for (;;) {
        const ssize_t received = ::recv(sock.fd, buf, sizeof buf, 0);
        if (received < 0) {
            if (errno == EINTR) continue;
            die("client: recv");
        }
        if (received == 0) break;
        reply.append(buf, static_cast<std::size_t>(received));
    }
    std::fwrite(reply.data(), 1, reply.size(), stdout);  // bytes, NUL included: written with their length
    std::printf("\n");

    // 5. close: sock closes itself (Fd's destructor)
    return 0;
}
