// Lesson 03 — iterative TCP echo server: serve clients one after another, forever.
//
// Usage:    ./server [host] [port]      default 127.0.0.1 8888; port 0 = any free port
// Partner:  ./client [host] [port]      (or several of them: they wait their turn),
//           or the tutorial's own clients: 001 socket_client.py, 004 持续性数据的交互.
// Mirrors:  tutorial 001 socket_server.py, 004 持续性数据的交互 (链接循环 + 通信循环),
//           002 §1 客户端异常退出 (recv returns 0 on Linux, ConnectionResetError elsewhere).
//
// Protocol: the tutorial's. The server greets each client with "连接成功", takes what
// ONE recv(1024) returns as one message, sends it back upper-cased (004's data.upper()),
// and ends the session when the message is "exit" (or "exit\n" from nc), or the client
// closes or resets the connection. Then it takes the next client. While it talks to one
// client, the next ones wait in the listen queue: threaded_server.cpp serves them all at once.
// One recv is not one send (TCP keeps no boundaries): two quick messages can arrive glued
// together and are then answered as one — README, and lessons 04/05.

#include <csignal>
#include <string>

#include "helpers.h"

constexpr int kBacklog = 5;             // sk.listen(5)
constexpr std::size_t kBufSize = 1024;  // conn.recv(1024)
constexpr const char* kGreeting = "连接成功";  // msg = "连接成功"; conn.send(msg.encode()): no newline
constexpr const char* kUsage = "server [host] [port]   (default 127.0.0.1 8888; port 0 = any free port)";

// The communication loop (通信循环) with one client. Returns why the session ended.
std::string talk_to(int conn, const std::string& peer) {
    if (!send_all(conn, kGreeting, std::strlen(kGreeting))) return send_failure();
    char buf[kBufSize];
    for (;;) {
        // 5. recv: whatever bytes have arrived, at most kBufSize. That chunk is the message.
        const ssize_t received = ::recv(conn, buf, sizeof buf, 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0 && errno == ECONNRESET) return "connection reset";  // Windows' ConnectionResetError
        if (received < 0) return std::string("recv: ") + std::strerror(errno);
        if (received == 0) return "recv returned 0";  // Linux: the client closed (tutorial 002 §1)
        const std::string message(buf, static_cast<std::size_t>(received));
        log_line("client " + peer + " said " + std::to_string(message.size()) + " bytes: " + quoted(message));
        if (is_exit(message)) return "sent exit";  // if data == b'exit': break
        // 6. send it back upper-cased: conn.send(data.upper())
        const std::string reply = upper_cased(message);
        if (!send_all(conn, reply.data(), reply.size())) return send_failure();
    }
}

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("server", kUsage, argc, argv, {}, 2);
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    std::signal(SIGPIPE, SIG_IGN);  // a vanished reader (client or log pipe) is an error, never a death

    // 1. socket, and SO_REUSEADDR: restart at once even while old connections sit
    //    in TIME_WAIT (tutorial 004: phone.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1))
    Fd listener{::socket(AF_INET, SOCK_STREAM, 0)};
    if (listener.fd < 0) die("server: socket");
    const int on = 1;
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");

    // 2. bind  3. listen
    const sockaddr_in address = ipv4_address("server", host, port);
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    log_line("listening on " + to_string(bound));

    for (;;) {  // the link loop (链接循环): one client after another, forever
        log_line("waiting for a client...");  // print("正在等待接收数据。。。。。。。")
        // 4. accept
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len)};
        if (conn.fd < 0) {  // e.g. the client reset before we took it: not our problem, go on
            if (errno != EINTR) std::fprintf(stderr, "server: accept: %s\n", std::strerror(errno));
            continue;
        }
        const std::string peer = to_string(client);
        log_line("client " + peer + " connected");
        const std::string why = talk_to(conn.fd, peer);
        log_line("client " + peer + " left (" + why + ")");
        // 7. close: conn's destructor closes this client's socket before the next accept
    }
}
