// Lesson 03 — TCP client: send the lines you type, print the server's replies.
//
// Usage:    ./client [host] [port]      default 127.0.0.1 8888
//           type lines (or pipe them in: printf 'hello\nworld\n' | ./client);
//           "exit" or end of input (Ctrl-D) ends the session.
// Partner:  ./server or ./threaded_server
// Mirrors:  tutorial 001 socket_client.py (recv → print → input → send, until 'exit'),
//           004 "客户端向服务端发送空消息的话 服务端的接收会卡住" (empty lines are not sent).

#include <csignal>
#include <iostream>
#include <string>

#include "helpers.h"

constexpr std::size_t kBufSize = 1024;  // client.recv(1024)
constexpr const char* kUsage = "client [host] [port]   (default 127.0.0.1 8888; lines from stdin, 'exit' ends)";

// recv until `pending` holds a whole line, then take it out. The server's
// replies are lines too, and TCP may hand them over in any number of pieces.
void receive_line(int sock, std::string& pending, std::string& line) {
    char buf[kBufSize];
    for (;;) {
        const LineStatus status = take_line(pending, line);
        if (status == LineStatus::kLine) return;
        if (status == LineStatus::kTooLong) {
            std::fprintf(stderr, "client: reply longer than %zu bytes\n", kMaxLine);
            std::exit(1);
        }
        const ssize_t received = ::recv(sock, buf, sizeof buf, 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) die("client: recv");  // e.g. Connection reset by peer
        if (received == 0) {                     // the server has gone away
            std::fprintf(stderr, "client: recv: the server closed the connection\n");
            std::exit(1);
        }
        pending.append(buf, static_cast<std::size_t>(received));
    }
}

int main(int argc, char* argv[]) {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
        std::printf("usage: %s\n", kUsage);
        return 0;
    }
    if (argc > 3) usage_error("client", kUsage, "too many arguments");
    if (argc > 1) host = argv[1];
    if (argc > 2) port = parse_port("client", argv[2], /*zero_allowed=*/false, kUsage);
    std::signal(SIGPIPE, SIG_IGN);  // a server that vanished gives EPIPE, reported below
    const bool interactive = ::isatty(STDIN_FILENO) == 1;  // prompt only for a person

    // 1. socket  2. connect
    Fd sock{::socket(AF_INET, SOCK_STREAM, 0)};
    if (sock.fd < 0) die("client: socket");
    const sockaddr_in server = ipv4_address("client", host, port);
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");

    // 3. recv the greeting and print it (a busy iterative server sends it only
    //    when our turn comes: until then we wait here, in its listen queue)
    std::string pending;  // bytes received but not yet a whole line
    std::string reply;
    receive_line(sock.fd, pending, reply);
    print_line(reply);

    std::string line;
    for (;;) {
        if (interactive) {
            std::printf("请输入发送的消息: ");  // input("请输入发送的消息:")
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) line = "exit";  // end of input: say goodbye properly
        if (line.empty()) {
            // An empty send() puts no bytes on the wire, so the tutorial's server would
            // wait in recv() forever (and its client in recv() for the reply).
            std::fprintf(stderr, "client: empty line not sent (an empty message would leave the server waiting)\n");
            continue;
        }
        if (line.size() > kMaxLine) {
            std::fprintf(stderr, "client: line not sent: longer than %zu bytes\n", kMaxLine);
            continue;
        }
        // 4. send the line with its '\n': the server reads up to it
        const std::string message = line + "\n";
        if (!send_all(sock.fd, message.data(), message.size())) die("client: send");
        if (line == "exit") break;  // the server closes the connection; we are done
        // 5. recv the reply line and print it
        receive_line(sock.fd, pending, reply);
        print_line(reply);
    }
    // 6. close: sock closes itself (Fd's destructor)
    return 0;
}
