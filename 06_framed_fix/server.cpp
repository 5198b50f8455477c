// Lesson 06 — framed remote-shell server: runs each command a client sends and sends back its
// output in a frame, so the client knows exactly where each reply ends (the 粘包 fix).
//
// Usage:    ./server [--scheme ack|fixed|json] [--max-bytes N] [--timeout SECONDS] [--idle-timeout SECONDS]
//                    [--two-sends] [--allow-remote] [host] [port]
//           default json, 64 MiB, timeout 10 s, idle timeout 60 s, 127.0.0.1 8080
// Partner:  ./client --scheme SAME [host] [port]   (fixed/json also: harness/framed_client.py)
// Mirrors:  tutorial 002 §4.2 解决方案1 (ack) and 解决方案2 (fixed), 000 end of §四 and 004 end (json).
//
// DANGER: it runs ANY command it is sent, as you. Loopback only unless --allow-remote.

#include <sys/time.h>

#include <csignal>
#include <string>
#include <vector>

#include "framing.h"
#include "helpers.h"
#include "run_command.h"
#include "accept_backoff.h"
#include "command_line.h"
#include "quoted.h"
#include "time_limits.h"

constexpr int kBacklog = 5;  // s.listen(5)
constexpr const char* kUsage =
    "server [--scheme ack|fixed|json] [--max-bytes N] [--timeout SECONDS] [--idle-timeout SECONDS] [--two-sends] "
    "[--allow-remote] [host] [port]   (default json, 67108864, 10, 60, 127.0.0.1 8080; port 0 = any free port)";

// One framed command. json: [4-byte length][{"command_size": N}][N bytes of command].
framing::Received receive_command(int fd, const Options& o) {
    if (o.scheme == Scheme::ack) return framing::recv_ack_message(fd, o.max_bytes);
    if (o.scheme == Scheme::fixed) return framing::recv_fixed_message(fd, o.max_bytes, "command");
    framing::Received header = framing::recv_fixed_message(fd, framing::kMaxJsonHeaderSize, "JSON header");
    if (header.ended || !header.error.empty()) return header;
    framing::RequestHeader request;
    framing::Received command;
    command.error = framing::decode_request_header(header.body, o.max_bytes, request);
    if (command.error.empty()) framing::recv_part(fd, request.command_size, command.body, "command", command.error);
    return command;
}

// json keeps stdout, stderr and the exit status apart; ack and fixed carry only bytes, so they
// get stdout then stderr, and a refusal (`error`) or timeout as a line of text at the end.
std::string send_reply(int fd, const Options& o, const CommandResult& r, const std::string& error) {
    if (o.scheme == Scheme::json) {
        const framing::ReplyHeader h{r.out.size(), r.err.size(), r.exit_code, r.signal, r.timed_out, error};
        return framing::send_json_message(fd, framing::encode_reply_header(h), {r.out, r.err}, o.two_sends);
    }
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", o.timeout);
    std::string notice = !error.empty()  ? "server: " + error + "\n"
                         : r.timed_out ? std::string("server: command timed out after ") + seconds + " s, killed\n"
                                       : "";
    if (r.out.size() + r.err.size() + notice.size() > o.max_bytes) notice.clear();  // never over the limit
    if (o.scheme == Scheme::ack) return framing::send_ack_message(fd, {r.out, r.err, notice});
    return framing::send_fixed_message(fd, {r.out, r.err, notice}, o.two_sends);
}

// Runs one command; returns "" or why there is no output to send (the README's output policy).
std::string run(const std::string& command, const Options& o, CommandResult& result) {
    // A blank command prints nothing and exits 0 under sh -c; answer it without a shell
    // (the client's --bench sends " " so that it measures the framing, not fork+exec).
    if (command.find_first_not_of(" \t") == std::string::npos) {
        result.exit_code = 0;
        return "";
    }
    if (command.find('\0') != std::string::npos) return "the command contains a NUL byte";  // argv ends at NUL
    if (!run_command(command, o.timeout, o.max_bytes, result)) {
        return std::string("posix_spawn: ") + std::strerror(errno);
    }
    if (!result.too_large) return "";
    return "output of more than " + std::to_string(o.max_bytes) + " bytes refused (limit: --max-bytes " +
           std::to_string(o.max_bytes) + ")";
}

int main(int argc, char* argv[]) {
    const Options o = parse_options("server", kUsage, argc, argv);
    const sockaddr_in address = ipv4_address("server", o.host, o.port);
    if (!is_loopback(address) && !o.allow_remote) {
        usage_error("server", kUsage,
                    "refusing to listen on " + o.host +
                        ": not a loopback (127.x.x.x) address, and "
                        "anyone who can reach it could run any command as you; add --allow-remote if you mean it");
    }
    if (!is_loopback(address))
        std::fprintf(stderr, "server: WARNING: --allow-remote: anyone who can reach %s can run commands as you\n",
                     o.host.c_str());
    std::signal(SIGPIPE, SIG_IGN);  // a vanished client is EPIPE, not death (also MSG_NOSIGNAL)

    // 1. socket  2. setsockopt(SO_REUSEADDR)  3. bind  4. listen
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};  // CLOEXEC: commands inherit no socket
    if (listener.fd < 0) die("server: socket");
    const int on = 1;  // s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s\n", to_string(bound).c_str());
    std::fflush(stdout);

    for (;;) {  // while True: one client after another, like the tutorial's server
        // 5. accept (accept4 = accept + SOCK_CLOEXEC on the new socket)
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC)};
        if (conn.fd < 0) {
            accept_failed("server");  // e.g. ECONNABORTED: try the next; EMFILE: pause 100 ms (socket_core.h)
            continue;
        }
        const std::string peer = to_string(client);
        std::printf("client connected from %s\n", peer.c_str());
        std::fflush(stdout);
        // One client at a time: one that sends nothing, or does not read its reply, for
        // --idle-timeout seconds would hold the server forever. recv/send then fail with EAGAIN.
        if (!set_silence_limit(conn.fd, o.idle_timeout)) {
            std::fprintf(stderr, "server: setsockopt: %s\n", std::strerror(errno));
            continue;
        }
        for (;;) {
            // 6. recv one framed command
            errno = 0;  // afterwards, EAGAIN says the limit above ran out
            const framing::Received command = receive_command(conn.fd, o);
            if (command.ended) break;  // the client closed between commands: a normal goodbye
            if (!command.error.empty() && errno == EAGAIN) {
                std::fprintf(stderr, "server: client %s sent nothing for %g s (--idle-timeout): dropped\n",
                             peer.c_str(), o.idle_timeout);
                break;
            }
            if (!command.error.empty()) {  // say why, close this connection, serve the next one
                std::fprintf(stderr, "server: client %s: bad request: %s\n", peer.c_str(), command.error.c_str());
                if (o.scheme != Scheme::ack)
                    send_reply(conn.fd, o, CommandResult{}, "bad request: " + command.error);
                break;
            }
            // 7. run it: subprocess.Popen(cmd, shell=True, stdout=PIPE, stderr=PIPE)
            CommandResult result;
            const std::string refused = run(command.body, o, result);
            if (command.body.find_first_not_of(" \t") != std::string::npos) {  // 响应长度- out:%d err:%d
                std::printf("ran %s: out %zu, err %zu bytes, exit %d%s\n", quoted(command.body, 40).c_str(),
                            result.out.size(), result.err.size(), result.exit_code,
                            result.timed_out ? " (timed out)" : "");
                std::fflush(stdout);
            }
            // 8. send the reply: header and body in ONE write
            errno = 0;
            if (const std::string error = send_reply(conn.fd, o, result, refused); !error.empty()) {
                if (errno == EAGAIN)
                    std::fprintf(stderr, "server: client %s did not read its reply for %g s (--idle-timeout): "
                                 "dropped\n", peer.c_str(), o.idle_timeout);
                else
                    std::fprintf(stderr, "server: client %s: %s\n", peer.c_str(), error.c_str());
                break;
            }
        }
        if (o.two_sends) std::printf("client %s: %s\n", peer.c_str(), tcp_data_segments(conn.fd).c_str());
        std::printf("client %s disconnected\n", peer.c_str());
        std::fflush(stdout);
        // 9. close: conn closes itself here (Fd); the listener waits for the next client
    }
}
