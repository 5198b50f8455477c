// Lesson 01 — TCP client: send one message, print the server's reply.
//
// Usage:    ./client [--wait SECONDS] [host] [port] [message]
//           default wait 30 s, 127.0.0.1 9939 "hello socket"
//           --wait: a server silent that long (it never answers, or never closes) is given up on.
// Partner:  ./server [host] [port]
// Mirrors:  tutorial 000 §二.1 (客户端) and 003 §二.3 客户端过程:
//           socket → connect → send → recv → close.
//
// The reply is printed piece by piece as it arrives, so a server that streams 1 GiB costs this
// client one kBufSize buffer, not 1 GiB.

#include <string>

#include "socket_core.h"
#include "command_line.h"
#include "give_up.h"

constexpr std::size_t kBufSize = 1024;  // client.recv(1024)
constexpr const char* kUsage =
    "client [--wait SECONDS] [host] [port] [message]   (default wait 30, 127.0.0.1 9939 \"hello socket\")";

int main(int argc, char* argv[]) {
    // at most [host] [port] [message]: quote a message with spaces
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {"--wait SECONDS"}, 3);
    double wait = 30;  // seconds of silence from the server before giving up, as lesson 06's client
    for (const auto& [option, value] : line.options) wait = parse_seconds("client", kUsage, option, value);
    const std::string host = line.positional.size() > 0 ? line.positional[0] : "127.0.0.1";
    const std::uint16_t port = line.positional.size() > 1
        ? parse_port("client", line.positional[1], /*zero_allowed=*/false, kUsage) : 9939;
    const std::string message = line.positional.size() > 2 ? line.positional[2] : "hello socket";

    // 1. socket: the same kind of socket as the server's, TCP over IPv4
    Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("client: socket");

    // 2. connect: the three-way handshake; the kernel picks our own port for us
    const sockaddr_in server = ipv4_address("client", host, port);
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");
    limit_silence(sock.fd, wait);  // the tutorial's client would wait for a silent server forever
    sockaddr_in local{};
    socklen_t local_len = sizeof local;
    if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&local), &local_len) < 0) die("client: getsockname");
    std::printf("connected from %s to %s\n", to_string(local).c_str(), to_string(server).c_str());

    // 3. send the whole message, then shut down our sending side: the server's
    //    recv() returns 0 once it has everything, which is how it knows we are done.
    if (!send_all(sock.fd, message.data(), message.size())) die_or_give_up("client: send", wait);
    if (::shutdown(sock.fd, SHUT_WR) < 0) die("client: shutdown");

    // 4. recv until the server closes: the reply may come in more than one piece, and
    //    each piece is printed as it comes (bytes, NUL included: written with their length)
    char buf[kBufSize];
    for (;;) {
        const ssize_t received = ::recv(sock.fd, buf, sizeof buf, 0);  // data = client.recv(1024)
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) die_or_give_up("client: recv", wait);
        if (received == 0) break;  // the server closed: that was the whole reply
        std::fwrite(buf, 1, static_cast<std::size_t>(received), stdout);  // print(data.decode('utf-8'))
    }
    std::printf("\n");

    // 5. close: sock closes itself (Fd's destructor)
    return 0;
}
