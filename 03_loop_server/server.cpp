// Lesson 03 — iterative TCP echo server: serve clients one after another, forever.
//
// Usage:    ./server [host] [port] [--turn SECONDS]
//           default 127.0.0.1 8888, a turn of 300 s per client; port 0 = any free port
// Partner:  ./client [host] [port] (several: they wait their turn), or the tutorial's own clients:
//           001 socket_client.py, 004 持续性数据的交互.
// Mirrors:  tutorial 001 socket_server.py step by step (socket, bind, listen, the link loop:
//           accept, greet, the communication loop: recv, exit?, send; close), with 004
//           持续性数据的交互's SO_REUSEADDR and data.upper(), and 002 §1 例1修改后's end of a
//           client that vanished (recv returns 0 on Linux, ConnectionResetError elsewhere).
//
// Protocol: the tutorial's. The greeting "连接成功" (no newline); what ONE recv(1024) returns is
// one message, sent back upper-cased; "exit" (or nc's "exit\n") ends the session. TCP keeps no
// boundaries, so two quick messages can arrive glued and are answered as one (README; lessons
// 04/05). While it talks to one client the next ones wait in the listen queue, so each client
// gets a turn of at most --turn seconds, wall-clock (session_turn.h): a silent client, one
// that reads nothing and one that drips a byte a second are all dropped when it is over.

#include <csignal>
#include <string>

#include "helpers.h"
#include "accept_backoff.h"
#include "command_line.h"
#include "quoted.h"
#include "session_turn.h"

constexpr int kBacklog = 5;             // sk.listen(5)
constexpr std::size_t kBufSize = 1024;  // conn.recv(1024)
constexpr const char* kGreeting = "连接成功";  // msg = "连接成功"; conn.send(msg.encode()): no newline
constexpr const char* kUsage =
    "server [host] [port] [--turn SECONDS]   (default 127.0.0.1 8888, a turn of 300 s per client; "
    "port 0 = any free port)";

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("server", kUsage, argc, argv, {"--turn SECONDS"}, 2);
    std::string host = "127.0.0.1";  // ip_port = ('127.0.0.1', 8888)
    std::uint16_t port = 8888;
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    double turn_seconds = 300;
    for (const auto& [option, value] : line.options) {  // --turn is the only option
        turn_seconds = parse_seconds("server", kUsage, option, value);
    }
    std::signal(SIGPIPE, SIG_IGN);  // a vanished reader (client or log pipe) is an error, never a death

    // 1. sk = socket.socket(), and SO_REUSEADDR: restart at once even while old connections sit
    //    in TIME_WAIT (004: phone.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1))
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0) die("server: socket");
    const int on = 1;
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");

    // 2. sk.bind(ip_port)  3. sk.listen(5)
    const sockaddr_in address = ipv4_address("server", host, port);
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");
    sockaddr_in bound{};  // port 0: the kernel chose one; say which
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    log_line("listening on " + to_string(bound));

    for (;;) {  // while True: the link loop (链接循环), one client after another, forever
        log_line("waiting for a client...");  // print("正在等待接收数据。。。。。。。")
        // 4. conn, address = sk.accept()
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC)};
        if (conn.fd < 0) {
            accept_failed("server");  // e.g. ECONNABORTED: the next one; EMFILE: pause 100 ms (accept_backoff.h)
            continue;
        }
        const std::string peer = to_string(client);
        log_line("client " + peer + " connected");
        Turn turn{turn_seconds};  // this client's turn: --turn s of wall-clock time in all
        std::string why;          // why its session ended, for the log

        // 5. msg = "连接成功"; conn.send(msg.encode())
        if (!turn.send_all(conn.fd, kGreeting)) why = turn.why_send_failed();
        char buf[kBufSize];
        while (why.empty()) {  // while True: the communication loop (通信循环)
            // 6. data = conn.recv(1024): whatever bytes have arrived, at most 1024, are the message
            const ssize_t received = turn.bound_next_call(conn.fd) ? ::recv(conn.fd, buf, sizeof buf, 0) : -1;
            if (received < 0 && errno == EINTR) continue;
            if (received <= 0) {  // 002 §1: the client closed (if len(data) == 0) or reset; or its turn is over
                why = turn.why_recv_ended(received);
                break;
            }
            const std::string message(buf, static_cast<std::size_t>(received));
            log_line("client " + peer + " said " + std::to_string(message.size()) + " bytes: " + quoted(message));
            if (is_exit(message)) {  // if data == b'exit': break
                why = "sent exit";
                break;
            }
            // 7. conn.send(data.upper())
            if (!turn.send_all(conn.fd, upper_cased(message))) why = turn.why_send_failed();
        }
        log_line("client " + peer + " left (" + why + ")");
        // 8. conn.close(): conn's destructor closes this client's socket before the next accept
    }
}
