// Lesson 03 — iterative TCP echo server: serve clients one after another, forever.
//
// Usage:    ./server [host] [port] [--idle-timeout SECONDS]
//           default 127.0.0.1 8888, idle timeout 60 s; port 0 = any free port
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
// So one client must not hold the server forever: one that sends nothing, or does not read
// what it is sent, for --idle-timeout seconds is dropped, and the next one is served.
// One recv is not one send (TCP keeps no boundaries): two quick messages can arrive glued
// together and are then answered as one — README, and lessons 04/05.

#include <csignal>
#include <string>

#include "helpers.h"
#include "accept_backoff.h"
#include "command_line.h"
#include "quoted.h"
#include "time_limits.h"

constexpr int kBacklog = 5;             // sk.listen(5)
constexpr std::size_t kBufSize = 1024;  // conn.recv(1024)
constexpr const char* kGreeting = "连接成功";  // msg = "连接成功"; conn.send(msg.encode()): no newline
constexpr const char* kUsage =
    "server [host] [port] [--idle-timeout SECONDS]   (default 127.0.0.1 8888, idle timeout 60; port 0 = any free port)";

// Why send() failed. EAGAIN: SO_SNDTIMEO ran out, the client read nothing for that long.
std::string send_failed(double idle_timeout) {
    if (errno != EAGAIN) return send_failure();
    char why[96];
    std::snprintf(why, sizeof why, "dropped: read nothing for %g s, --idle-timeout", idle_timeout);
    return why;
}

// The communication loop (通信循环) with one client. Returns why the session ended.
std::string talk_to(int conn, const std::string& peer, double idle_timeout) {
    if (!send_all(conn, kGreeting, std::strlen(kGreeting))) return send_failed(idle_timeout);
    char buf[kBufSize];
    for (;;) {
        // 5. recv: whatever bytes have arrived, at most kBufSize. That chunk is the message.
        const ssize_t received = ::recv(conn, buf, sizeof buf, 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0 && errno == ECONNRESET) return "connection reset";  // Windows' ConnectionResetError
        if (received < 0 && errno == EAGAIN) {  // SO_RCVTIMEO ran out
            char why[96];
            std::snprintf(why, sizeof why, "dropped: sent nothing for %g s, --idle-timeout", idle_timeout);
            return why;
        }
        if (received < 0) return std::string("recv: ") + std::strerror(errno);
        if (received == 0) return "recv returned 0";  // Linux: the client closed (tutorial 002 §1)
        const std::string message(buf, static_cast<std::size_t>(received));
        log_line("client " + peer + " said " + std::to_string(message.size()) + " bytes: " + quoted(message));
        if (is_exit(message)) return "sent exit";  // if data == b'exit': break
        // 6. send it back upper-cased: conn.send(data.upper())
        const std::string reply = upper_cased(message);
        if (!send_all(conn, reply.data(), reply.size())) return send_failed(idle_timeout);
    }
}

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("server", kUsage, argc, argv, {"--idle-timeout SECONDS"}, 2);
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    double idle_timeout = 60;
    for (const auto& [option, value] : line.options) {  // --idle-timeout is the only option
        idle_timeout = parse_seconds("server", kUsage, option, value);
    }
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
        if (conn.fd < 0) {
            accept_failed("server");  // e.g. ECONNABORTED: try the next; EMFILE: pause 100 ms (socket_core.h)
            continue;
        }
        const std::string peer = to_string(client);
        log_line("client " + peer + " connected");
        // One client at a time: one that sends nothing, or does not read its replies, for
        // --idle-timeout seconds would hold the server forever. recv/send then fail with EAGAIN.
        if (!set_silence_limit(conn.fd, idle_timeout)) {
            std::fprintf(stderr, "server: setsockopt: %s\n", std::strerror(errno));
            continue;
        }
        const std::string why = talk_to(conn.fd, peer, idle_timeout);
        log_line("client " + peer + " left (" + why + ")");
        // 7. close: conn's destructor closes this client's socket before the next accept
    }
}
