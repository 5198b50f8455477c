// Lesson 01 — TCP client: send one message, print the server's reply.
//
// Usage:    ./client [--wait SECONDS] [host] [port] [message]
//           default wait 30 s, 127.0.0.1 9939 "hello socket"
//           --wait: a server silent that long (it never answers, or never closes) is given up on.
// Partner:  ./server [host] [port]
// Mirrors:  tutorial 000 §二.1 (客户端) and 003 §二.3 客户端过程:
//           socket → connect → send → recv → close.

#include <string>

#include "socket_core.h"
#include "command_line.h"
#include "time_limits.h"

constexpr std::size_t kBufSize = 1024;  // client.recv(1024)
constexpr const char* kUsage =
    "client [--wait SECONDS] [host] [port] [message]   (default wait 30, 127.0.0.1 9939 \"hello socket\")";

// A send or recv that failed: its own error ("client: recv: Connection reset by peer"), or, when
// the --wait limit ran out (EAGAIN), "client: the server did not answer for 30 s (--wait 30): giving up".
[[noreturn]] void talk_failed(const char* call, double wait) {
    const std::string error = std::string(call) + ": " + std::strerror(errno);
    std::fprintf(stderr, "client: %s\n", silence_or(error, wait).c_str());
    std::exit(1);
}

int main(int argc, char* argv[]) {
    // at most [host] [port] [message]: quote a message with spaces
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {"--wait SECONDS"}, 3);
    std::string host = "127.0.0.1";
    std::uint16_t port = 9939;
    std::string message = "hello socket";
    double wait = 30;  // seconds of silence from the server before giving up, as lesson 06's client
    for (const auto& [option, value] : line.options) {
        if (option == "--wait") wait = parse_seconds("client", kUsage, option, value);
    }
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("client", line.positional[1], /*zero_allowed=*/false, kUsage);
    if (line.positional.size() > 2) message = line.positional[2];

    // 1. socket: the same kind of socket as the server's, TCP over IPv4
    Fd sock{::socket(AF_INET, SOCK_STREAM, 0)};
    if (sock.fd < 0) die("client: socket");

    // 2. connect: the three-way handshake; the kernel picks our own port for us
    const sockaddr_in server = ipv4_address("client", host, port);
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");
    // The tutorial's client would wait in recv() forever for a server that accepts and never
    // answers (or never closes). Every wait has a bound: with this limit a recv or send that
    // makes no progress for --wait seconds fails with EAGAIN, and talk_failed says so.
    if (!set_silence_limit(sock.fd, wait)) die("client: setsockopt");
    sockaddr_in local{};
    socklen_t local_len = sizeof local;
    if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&local), &local_len) < 0) die("client: getsockname");
    std::printf("connected from %s to %s\n", to_string(local).c_str(), to_string(server).c_str());

    // 3. send the whole message, then shut down our sending side: the server's
    //    recv() returns 0 once it has everything, which is how it knows we are done.
    if (!send_all(sock.fd, message.data(), message.size())) talk_failed("send", wait);
    if (::shutdown(sock.fd, SHUT_WR) < 0) die("client: shutdown");

    // 4. recv until the server closes: the reply may come in more than one piece
    std::string reply;
    char buf[kBufSize];
    for (;;) {
        const ssize_t received = ::recv(sock.fd, buf, sizeof buf, 0);
        if (received < 0) {
            if (errno == EINTR) continue;
            talk_failed("recv", wait);
        }
        if (received == 0) break;
        reply.append(buf, static_cast<std::size_t>(received));
    }
    std::fwrite(reply.data(), 1, reply.size(), stdout);  // bytes, NUL included: written with their length
    std::printf("\n");

    // 5. close: sock closes itself (Fd's destructor)
    return 0;
}
