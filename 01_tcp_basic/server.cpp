// Lesson 01 — TCP server: take one client, send its message back upper-cased.
//
// Usage:    ./server [host] [port]      default 127.0.0.1 9939; port 0 = any free port
// Partner:  ./client [host] [port] [message]
// Mirrors:  tutorial 000 §二.1 套接字基于tcp协议的工作流程 (服务端) and 003 §二.2 服务端过程:
//           socket → bind → listen → accept → recv → send → close.
//
// Like the tutorial it serves ONE client and exits; lesson 03 adds the loops. So an error in
// any step ends the program, with one idiom: `die("server: recv")` says what failed and why.
// One difference, for correctness: TCP is a byte stream, so one recv() is not one message
// (lesson 05). The client says "I am done" by shutting down its sending side, and this server
// keeps receiving, and answering each piece as it comes, until recv() returns 0.

#include <algorithm>
#include <cctype>
#include <string>

#include "socket_core.h"
#include "command_line.h"
#include "received_log.h"

constexpr int kBacklog = 5;                // server.listen(5): 半连接池大小
constexpr std::size_t kBufSize = 1024;     // connect.recv(1024): at most 1024 bytes per call
constexpr const char* kUsage = "server [host] [port]   (default 127.0.0.1 9939; port 0 = any free port)";

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("server", kUsage, argc, argv, {}, 2);
    const std::string host = line.positional.size() > 0 ? line.positional[0] : "127.0.0.1";
    const std::uint16_t port = line.positional.size() > 1
        ? parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage) : 9939;

    // 1. socket: AF_INET + SOCK_STREAM = IPv4 + TCP (tutorial: "基于tcp的流式协议的套接字对象")
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0) die("server: socket");
    // Restarting right after a run would otherwise fail with "Address already
    // in use" while the old connection sits in TIME_WAIT (tutorial 004; lesson 03).
    const int on = 1;
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");

    // 2. bind: claim the (host, port) address
    const sockaddr_in address = ipv4_address("server", host, port);
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");

    // 3. listen: let the kernel queue up to kBacklog connections we have not accepted yet
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");
    // With port 0 the kernel chose the port: ask which one, and say it (the harness waits for this line).
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s\n", to_string(bound).c_str());
    std::fflush(stdout);

    // 4. accept: block until a client connects; we get a NEW socket for that one client
    sockaddr_in client{};
    socklen_t client_len = sizeof client;
    int accepted;
    do {  // a signal during the wait is not an error: wait again (EINTR)
        accepted = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC);
    } while (accepted < 0 && errno == EINTR);
    Fd conn{accepted};
    if (conn.fd < 0) die("server: accept");
    std::printf("client connected from %s\n", to_string(client).c_str());  // print(client_addr)
    std::fflush(stdout);

    // 5. recv → send, piece by piece, until recv() returns 0: the client has sent everything
    char buf[kBufSize];
    ReceivedLog log(kBufSize);  // what one recv(1024) would have printed, and the count
    for (;;) {
        const ssize_t received = ::recv(conn.fd, buf, sizeof buf, 0);   // data = connect.recv(1024)
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) die("server: recv");
        if (received == 0) break;  // the client shut down its sending side: end of message
        const auto size = static_cast<std::size_t>(received);
        log.add(buf, size);
        std::transform(buf, buf + size, buf, [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (!send_all(conn.fd, buf, size)) die("server: send");         // connect.send(data.upper())
    }
    log.print();  // print(data.decode())

    // 6. close: conn and listener close themselves here (Fd's destructor)
    return 0;
}
