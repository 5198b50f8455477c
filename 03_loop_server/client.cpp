// Lesson 03 — TCP client: print what the server says, send the lines you type, until `exit`.
//
// Usage:    ./client [host] [port] [--greeting SECONDS] [--wait SECONDS]
//           default 127.0.0.1 8888, greeting 1 s, wait 10 s;
//           type lines (or pipe them in: printf 'hello\nworld\n' | ./client);
//           "exit" or end of input (Ctrl-D) ends the session.
// Partner:  ./server or ./threaded_server, or the tutorial's own servers: 001 socket_server.py
//           (greets "连接成功"), 001 socket_server_tcp2.py (greets "Hello World!"), 002 §1 例1,
//           004 持续性数据的交互 (no greeting at all).
// Mirrors:  tutorial 001 socket_client.py step by step (socket, connect, then for ever: recv →
//           print → input → send, until 'exit'), and 004 "客户端向服务端发送空消息的话 服务端的接收会卡住"
//           (empty lines are not sent).
//
// Each line goes out WITHOUT a newline in one send(), and ONE recv(1024) is the reply. Some of
// the tutorial's servers greet first, some do not, and nothing on the wire says which: so the
// first recv waits a short, bounded time (--greeting) and the client goes on without a greeting.
// Every reply is waited for at most --wait seconds: a server that never answers is reported.

#include <csignal>
#include <cmath>
#include <iostream>
#include <string>

#include "helpers.h"
#include "command_line.h"

constexpr std::size_t kBufSize = 1024;  // client.recv(1024)
constexpr const char* kUsage =
    "client [host] [port] [--greeting SECONDS] [--wait SECONDS]   "
    "(default 127.0.0.1 8888, greeting 1, wait 10; lines from stdin, 'exit' ends)";

bool receive_and_print(int sock, int ms);           // below main: data = client.recv(1024); print(...)
std::string next_line_to_send(bool interactive);  // below main: msg_input = input(...)

int main(int argc, char* argv[]) {
    const CommandLine arguments =
        parse_command_line("client", kUsage, argc, argv, {"--greeting SECONDS", "--wait SECONDS"}, 2);
    std::string host = "127.0.0.1";  // ip_port= ('127.0.0.1', 8888)
    std::uint16_t port = 8888;
    if (arguments.positional.size() > 0) host = arguments.positional[0];
    if (arguments.positional.size() > 1) port = parse_port("client", arguments.positional[1], false, kUsage);
    int greeting_ms = 1000;
    int wait_ms = 10000;
    for (const auto& [option, value] : arguments.options) {
        const int ms = static_cast<int>(std::ceil(parse_seconds("client", kUsage, option, value) * 1000));
        (option == "--greeting" ? greeting_ms : wait_ms) = ms;
    }
    std::signal(SIGPIPE, SIG_IGN);  // a server that vanished gives EPIPE, reported below
    const bool interactive = ::isatty(STDIN_FILENO) == 1;  // prompt only for a person

    // 1. client = socket.socket()  2. client.connect(ip_port)
    Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("client: socket");
    const sockaddr_in server = ipv4_address("client", host, port);
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");

    for (bool greeting = true;; greeting = false) {  // while True:
        // 3. data = client.recv(1024); print(data.decode()). The first time: the greeting, if this
        //    server sends one (001's do; 004's does not). A busy iterative server greets only when
        //    our turn comes, which may be after this wait. Then: the reply to our line.
        if (!receive_and_print(sock.fd, greeting ? greeting_ms : wait_ms) && !greeting) {
            std::fprintf(stderr, "client: no reply within %g s\n", wait_ms / 1000.0);
            return 1;
        }
        // 4. msg_input = input("请输入发送的消息:"), skipping lines that must not be sent
        const std::string line = next_line_to_send(interactive);
        // 5. client.send(msg_input.encode()): the line as it is, no newline
        if (!send_all(sock.fd, line.data(), line.size())) die("client: send");
        if (line == "exit") break;  // if msg_input =='exit': break — the server closes its side
    }
    // 6. close: sock closes itself (Fd's destructor)
    return 0;
}

// data = client.recv(1024): one recv, printed like print(data.decode()). Exits on a closed
// connection or an error; false if nothing came within `ms` milliseconds.
bool receive_and_print(int sock, int ms) {
    const int ready = wait_readable(sock, ms);
    if (ready < 0) die("client: poll");
    if (ready == 0) return false;
    char buf[kBufSize];
    ssize_t received;
    do {
        received = ::recv(sock, buf, sizeof buf, 0);
    } while (received < 0 && errno == EINTR);
    if (received < 0) die("client: recv");  // e.g. Connection reset by peer
    if (received == 0) {                     // the server has gone away
        std::fprintf(stderr, "client: recv: the server closed the connection\n");
        std::exit(1);
    }
    print_line(std::string(buf, static_cast<std::size_t>(received)));
    return true;
}

// msg_input = input("请输入发送的消息:"), the prompt only for a person. End of input (Ctrl-D)
// says goodbye properly: "exit". Lines that must not be sent are skipped, with a note on stderr.
std::string next_line_to_send(bool interactive) {
    std::string line;
    for (;;) {
        if (interactive) {
            std::printf("请输入发送的消息: ");
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) {  // end of input: say goodbye properly, and show it
            std::fprintf(stderr, "%sclient: end of input: sending exit\n", interactive ? "\n" : "");
            return "exit";
        }
        if (line.empty()) {
            // An empty send() puts no bytes on the wire, so the tutorial's server would
            // wait in recv() forever (and its client in recv() for the reply).
            std::fprintf(stderr, "client: empty line not sent (an empty message would leave the server waiting)\n");
        } else if (line.size() > kBufSize) {  // the server's one recv(1024) would cut it in two messages
            std::fprintf(stderr, "client: line not sent: longer than %zu bytes\n", kBufSize);
        } else {
            return line;
        }
    }
}
