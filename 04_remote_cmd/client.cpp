// Lesson 04 — remote command client: send each line of stdin as a command, print the reply.
//
// Usage:    ./client [host] [port] [--wait SECONDS]    default 127.0.0.1 9939, wait 2 s
// Partner:  ./server [host] [port] [--timeout SECONDS] [--allow-remote]
// Mirrors:  tutorial 000 §三 基于tcp实现远程命令 (客户端), 002 §2 模拟ssh:
//           socket → connect → loop { input → send → ONE recv(1024) → print } → close.
//           `exit` or `quit` typed as a command ends the client (模拟ssh: `if msg == 'quit': break`),
//           and so does the end of input (Ctrl-D); neither is sent to the server.
//
// Faithful on purpose: ONE recv(1024) per command, so `seq 1 1000` (3893 bytes) shows
// only its first 1024 bytes and the next command gets the leftover (粘包). Two additions:
// - before its recv it waits (bounded) until 1024 bytes are queued, so the one recv
//   takes a full 1024 bytes every time instead of whatever had arrived by chance;
// - a command that prints nothing makes the server send 0 bytes, and the tutorial's
//   client would wait in recv forever; this one waits --wait seconds and says so.

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <iostream>
#include <string>

#include "socket_core.h"
#include "command_line.h"
#include "reply_wait.h"  // wait_for_reply: the bounded wait before the one recv

constexpr std::size_t kBufSize = 1024;  // cmd_res = client.recv(1024)
constexpr const char* kUsage =
    "client [host] [port] [--wait SECONDS]   (default 127.0.0.1 9939, wait 2; one command a line on stdin; "
    "exit, quit or Ctrl-D (end of input) ends the client)";

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {"--wait SECONDS"}, 2);
    std::string host = "127.0.0.1";
    std::uint16_t port = 9939;
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("client", line.positional[1], /*zero_allowed=*/false, kUsage);
    double wait = 2;
    for (const auto& [option, value] : line.options) wait = parse_seconds("client", kUsage, option, value);  // --wait
    const int wait_ms = static_cast<int>(std::ceil(wait * 1000));
    const bool interactive = ::isatty(STDIN_FILENO);

    std::signal(SIGPIPE, SIG_IGN);  // `client | head -1`: a reader that went away is EPIPE, never death

    // 1. client = socket(AF_INET, SOCK_STREAM)
    Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("client: socket");
    // 2. client.connect(('127.0.0.1', 9939))
    const sockaddr_in server = ipv4_address("client", host, port);
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");

    std::string command;
    for (;;) {
        // 3. cmd = input('请输入命令:').strip(); `if not cmd: continue`
        if (interactive) std::printf(">> ");
        std::fflush(stdout);
        if (!std::getline(std::cin, command)) break;  // end of input (Ctrl-D): done
        const auto first = command.find_first_not_of(" \t\r");
        if (first == std::string::npos) continue;
        command = command.substr(first, command.find_last_not_of(" \t\r") - first + 1);
        if (!interactive) std::printf(">> %s\n", command.c_str());  // so a transcript shows what was asked
        if (command == "exit" || command == "quit") break;  // `if msg == 'quit': break` — not sent

        // 4. client.send(cmd.encode('utf-8')) (no header: the server's one recv(1024) takes whatever is there)
        if (!send_all(sock.fd, command.data(), command.size())) die("client: send");

        // 5. cmd_res = client.recv(1024) — ONE recv, once the reply has begun and filled 1024 bytes
        //    (or half a second passed): wait_for_reply, reply_wait.h
        if (!wait_for_reply(sock.fd, wait_ms, static_cast<int>(kBufSize))) {
            std::printf("(no reply within %g s: if the command printed nothing, the server sent 0 bytes and a plain "
                        "recv() would wait forever - TCP has no empty message; lesson 06 adds a header)\n",
                        wait_ms / 1000.0);
            continue;
        }
        char buf[kBufSize];
        ssize_t received;
        do {
            received = ::recv(sock.fd, buf, sizeof buf, 0);
        } while (received < 0 && errno == EINTR);
        if (received < 0) die("client: recv");
        if (received == 0) {
            std::fprintf(stderr, "client: the server closed the connection\n");
            return 1;
        }
        // 6. print(cmd_res.decode(...)): the bytes as they came, then a newline like print()
        std::printf("recv(%zu) -> %zd bytes:\n", kBufSize, received);
        std::fwrite(buf, 1, static_cast<std::size_t>(received), stdout);
        std::printf("\n");
    }
    // 7. client.close(): sock closes itself (Fd's destructor)
    return 0;
}
