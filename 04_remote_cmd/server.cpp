// Lesson 04 — remote command server: run each command a client sends, send back its output.
//
// Usage:    ./server [host] [port] [--timeout SECONDS] [--idle-timeout SECONDS] [--allow-remote]
//           default 127.0.0.1 9939, timeout 10 s, idle timeout 60 s; port 0 = any free port
// Partner:  ./client [host] [port] [--wait SECONDS]
// Mirrors:  tutorial 000 §三 基于tcp实现远程命令 (服务端), 002 §2 模拟ssh, 004 主机命令执行:
//           link loop (accept) + communication loop (recv command → run it → send output).
//
// Faithful to the tutorial ON PURPOSE, bug included: the output goes back raw, stdout
// bytes then stderr bytes, with nothing to say where it ends. A client that reads one
// recv(1024) per command gets the rest of a long output as the answer to its NEXT
// command — the sticky-packet problem (粘包, lesson 05); lesson 06 fixes it.
//
// DANGER: this is a remote shell. Anyone who can connect runs commands as you
// (`foobar; rm -rf ~`). So it listens on loopback only unless --allow-remote is given.

#include <csignal>
#include <string>

#include "run_command.h"
#include "socket_core.h"
#include "accept_backoff.h"
#include "command_line.h"
#include "quoted.h"
#include "time_limits.h"

constexpr int kBacklog = 5;                        // server.listen(5)
constexpr std::size_t kBufSize = 1024;             // cmd = connect.recv(1024)
constexpr std::size_t kMaxOutputBytes = 16 << 20;  // stdout + stderr: `yes` must not eat all our memory
constexpr const char* kUsage =
    "server [host] [port] [--timeout SECONDS] [--idle-timeout SECONDS] [--allow-remote]   "
    "(default 127.0.0.1 9939, timeout 10, idle timeout 60)";

// For the log: "exit status 0", "killed after the 10 s timeout", "killed by signal Killed".
std::string how_it_ended(const CommandResult& r, double timeout) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout);
    if (r.too_large) return "killed: more than " + std::to_string(kMaxOutputBytes) + " bytes of output, refused";
    if (r.timed_out) return std::string("killed after the ") + seconds + " s timeout";
    if (r.signal != 0) return std::string("killed by signal ") + ::strsignal(r.signal);
    return "exit status " + std::to_string(r.exit_code);
}

int main(int argc, char* argv[]) {
    const CommandLine line =
        parse_command_line("server", kUsage, argc, argv,
                           {"--timeout SECONDS", "--idle-timeout SECONDS", "--allow-remote"}, 2);
    std::string host = "127.0.0.1";
    std::uint16_t port = 9939;
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    double timeout = 10, idle_timeout = 60;
    bool allow_remote = false;
    for (const auto& [option, value] : line.options) {
        if (option == "--timeout") timeout = parse_seconds("server", kUsage, option, value);
        if (option == "--idle-timeout") idle_timeout = parse_seconds("server", kUsage, option, value);
        if (option == "--allow-remote") allow_remote = true;
    }
    const sockaddr_in address = ipv4_address("server", host, port);
    // 127.0.0.0/8 is loopback; anything else (0.0.0.0 = every interface!) lets other machines in.
    if (!is_loopback(address) && !allow_remote) {
        usage_error("server", kUsage, "refusing to listen on " + host + ": not a loopback address, and this server "
                    "runs any command it is sent (pass --allow-remote if you really mean it)");
    }
    if (allow_remote) {
        std::fprintf(stderr, "server: WARNING: --allow-remote: anyone who can reach %s can run any command as "
                     "this user (e.g. `foobar; rm -rf ~`)\n", to_string(address).c_str());
    }

    std::signal(SIGPIPE, SIG_IGN);  // a vanished reader (client, or `server | head -1`) is EPIPE, never death

    // 1. socket (SOCK_CLOEXEC: the commands we run must not inherit our sockets)
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0) die("server: socket");
    const int on = 1;  // quick restarts (tutorial 004; lesson 03)
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    // 2. bind
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    // 3. listen
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s\n", to_string(bound).c_str());
    std::fflush(stdout);

    for (;;) {  // link loop (链接循环): one client after another
        // 4. accept (accept4 = accept + SOCK_CLOEXEC on the new socket)
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC)};
        if (conn.fd < 0) {
            accept_failed("server");  // e.g. ECONNABORTED: try the next; EMFILE: pause 100 ms (socket_core.h)
            continue;
        }
        const std::string who = to_string(client);
        std::printf("client %s connected\n", who.c_str());
        std::fflush(stdout);
        // One client at a time: one that sends nothing, or does not read its reply, for
        // --idle-timeout seconds would hold the server forever. recv/send then fail with EAGAIN.
        if (!set_silence_limit(conn.fd, idle_timeout)) {
            std::fprintf(stderr, "server: setsockopt: %s\n", std::strerror(errno));
            continue;
        }

        for (;;) {  // communication loop (通信循环): one command after another
            // 5. recv one command — one recv(1024), like the tutorial: no framing on the way in either
            char buf[kBufSize];
            const ssize_t received = ::recv(conn.fd, buf, sizeof buf, 0);
            if (received < 0 && errno == EINTR) continue;
            if (received < 0 && errno == EAGAIN) {
                std::fprintf(stderr, "server: client %s sent nothing for %g s (--idle-timeout): dropped\n", who.c_str(),
                             idle_timeout);
                break;
            }
            if (received < 0) {  // e.g. ECONNRESET: the client vanished (tutorial 002 §1 客户端异常退出)
                std::fprintf(stderr, "server: recv from %s: %s\n", who.c_str(), std::strerror(errno));
                break;
            }
            if (received == 0) break;  // `if not cmd: break` — the client closed
            const std::string command(buf, static_cast<std::size_t>(received));

            // 6. run it: subprocess.Popen(cmd, shell=True, stdout=PIPE, stderr=PIPE)
            CommandResult result;
            std::string ended = "not run: the command contains a NUL byte";  // argv strings end at a NUL
            if (command.find('\0') == std::string::npos) {
                if (!run_command(command, timeout, kMaxOutputBytes, result)) {
                    std::fprintf(stderr, "server: posix_spawn /bin/sh: %s\n", std::strerror(errno));
                    break;
                }
                ended = how_it_ended(result, timeout);
            }
            std::printf("%s ran %s: %zu bytes stdout, %zu bytes stderr, %s\n", who.c_str(), quoted(command).c_str(),
                        result.out.size(), result.err.size(), ended.c_str());
            std::fflush(stdout);
            if (result.too_large) {  // the output policy (README): a notice, never a cut reply
                result.err = "server: output of more than " + std::to_string(kMaxOutputBytes) + " bytes refused\n";
            }

            // 7. send stdout, then stderr: raw bytes, no header — the client cannot tell where they end
            if (!send_all(conn.fd, result.out.data(), result.out.size()) ||
                !send_all(conn.fd, result.err.data(), result.err.size())) {
                if (errno == EAGAIN) {
                    std::fprintf(stderr, "server: client %s did not read its reply for %g s (--idle-timeout): "
                                 "dropped\n", who.c_str(), idle_timeout);
                } else {
                    std::fprintf(stderr, "server: send to %s: %s\n", who.c_str(), std::strerror(errno));
                }
                break;  // the client vanished or stalled mid-reply: log it and serve the next one
            }
        }
        std::printf("client %s disconnected\n", who.c_str());
        std::fflush(stdout);
        // 8. close: conn closes itself at the end of this iteration (Fd's destructor)
    }
}
