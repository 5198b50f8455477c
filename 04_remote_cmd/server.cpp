// Lesson 04 — remote command server: run each command a client sends, send back its output.
//
// Usage:    ./server [host] [port] [--timeout SECONDS] [--idle-timeout SECONDS] [--allow-remote]
//           default 127.0.0.1 9939, timeout 10 s, idle timeout 60 s; port 0 = any free port
// Partner:  ./client [host] [port] [--wait SECONDS]
// Mirrors:  tutorial 000 §三 基于tcp实现远程命令 (服务端), 002 §2 模拟ssh, 004 主机命令执行:
//           link loop (accept) + communication loop (recv command → run it → send output).
// Faithful to the tutorial ON PURPOSE, bug included: the output goes back raw, stdout bytes
// then stderr bytes, with nothing to say where it ends. A client that reads one recv(1024) per
// command gets the rest of a long output as the answer to its NEXT command — the sticky-packet
// problem (粘包, lesson 05); lesson 06 fixes it.
// DANGER: this is a remote shell. Anyone who can connect runs commands as you
// (`foobar; rm -rf ~`). So it listens on loopback only unless --allow-remote is given.

#include <csignal>
#include <string>

#include "socket_core.h"
#include "accept_backoff.h"
#include "remote_shell.h"  // the command line, the loopback guard, run_and_log, log_failure
#include "run_command.h"
#include "time_limits.h"

constexpr int kBacklog = 5;             // server.listen(5)
constexpr std::size_t kBufSize = 1024;  // cmd = connect.recv(1024)

int main(int argc, char* argv[]) {
    const ServerOptions o = parse_server_options(argc, argv);  // refuses 0.0.0.0 without --allow-remote
    std::signal(SIGPIPE, SIG_IGN);  // a vanished reader (client, or `server | head -1`) is EPIPE, never death

    // 1. server = socket(AF_INET, SOCK_STREAM)   (CLOEXEC: the commands we run inherit no socket)
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0) die("server: socket");
    const int on = 1;  // quick restarts (tutorial 004; lesson 03)
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    // 2. server.bind(('127.0.0.1', 9939))
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&o.address), sizeof o.address) < 0) die("server: bind");
    // 3. server.listen(5)
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    warn_if_remote(o, bound);  // names the port really bound, also for port 0
    std::printf("listening on %s\n", to_string(bound).c_str());
    std::fflush(stdout);

    for (;;) {  // link loop (链接循环): one client after another
        // 4. connect, client_addr = server.accept()   (accept4 = accept + SOCK_CLOEXEC on the new socket)
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC)};
        if (conn.fd < 0) {
            accept_failed("server");  // e.g. ECONNABORTED: try the next; EMFILE: pause 100 ms (accept_backoff.h)
            continue;
        }
        const std::string who = to_string(client);
        std::printf("client %s connected\n", who.c_str());
        std::fflush(stdout);
        // One client at a time: one that sends nothing, or does not read its reply, for
        // --idle-timeout seconds would hold the server forever. recv/send then fail with EAGAIN.
        if (!set_silence_limit(conn.fd, o.idle_timeout)) {
            std::fprintf(stderr, "server: setsockopt: %s\n", std::strerror(errno));
            continue;
        }

        for (;;) {  // communication loop (通信循环): one command after another
            // 5. cmd = connect.recv(1024) — one recv, like the tutorial: no framing on the way in either
            char buf[kBufSize];
            const ssize_t received = ::recv(conn.fd, buf, sizeof buf, 0);
            if (received < 0 && errno == EINTR) continue;
            if (received < 0) {  // the client vanished, or sent nothing for --idle-timeout seconds
                log_failure(who, "recv", o.idle_timeout);
                break;
            }
            if (received == 0) break;  // `if not cmd: break` — the client closed
            const std::string command(buf, static_cast<std::size_t>(received));

            // 6. obj = subprocess.Popen(cmd.decode('utf-8'), shell=True, …); out = obj.stdout.read(); err = …
            CommandResult result;
            if (!run_and_log(who, command, o.timeout, result)) break;

            // 7. connect.send(out); connect.send(err): raw bytes, no header — the client cannot tell where they end
            if (!send_all(conn.fd, result.out.data(), result.out.size()) ||
                !send_all(conn.fd, result.err.data(), result.err.size())) {
                log_failure(who, "send", o.idle_timeout);  // vanished or stalled mid-reply: serve the next one
                break;
            }
        }
        std::printf("client %s disconnected\n", who.c_str());
        std::fflush(stdout);
        // 8. connect.close(): conn closes itself at the end of this iteration (Fd's destructor)
    }
}
