// Lesson 06 — framed remote-shell server: runs each command a client sends and sends back its
// output in a frame, so the client knows exactly where each reply ends (the 粘包 fix).
//
// Usage:    ./server [--scheme ack|fixed|json] [--max-bytes N] [--timeout SECONDS] [--idle-timeout SECONDS]
//                    [--two-sends] [--allow-remote] [host] [port]
//           default json, 64 MiB, timeout 10 s, idle timeout 60 s, 127.0.0.1 8080
// Partner:  ./client --scheme SAME [host] [port]   (fixed/json also: harness/framed_client.py)
// Mirrors:  tutorial 002 §4.2 解决方案1 (ack) and 解决方案2 (fixed), 000 end of §四 and 004 end (json).
// DANGER: it runs ANY command it is sent, as you. Loopback only unless --allow-remote.

#include <csignal>
#include <new>
#include <string>
#include <vector>

#include "framing.h"     // what the bytes mean: encode_* / decode_*
#include "message_io.h"  // whole messages in and out, bounded: recv_*, send_*, Status
#include "helpers.h"     // Options, tcp_data_segments
#include "server_policies.h"  // run_for_client, notice_line, log_dropped
#include "accept_backoff.h"
#include "quoted.h"
#include "time_limits.h"  // set_silence_limit

using message_io::Outcome;
using message_io::Received;
using message_io::Status;

constexpr int kBacklog = 5;  // s.listen(5)
constexpr const char* kUsage =
    "server [--scheme ack|fixed|json] [--max-bytes N] [--timeout SECONDS] [--idle-timeout SECONDS] [--two-sends] "
    "[--allow-remote] [host] [port]   (default json, 67108864, 10, 60, 127.0.0.1 8080; port 0 = any free port)";

Received recv_command(int fd, const Options& o);                                         // 6., below main
Status answer(int fd, const Options& o, const CommandResult& r, const std::string& refused);  // 8., below main

int main(int argc, char* argv[]) {
    const Options o = parse_options("server", kUsage, argc, argv);  // refuses a non-loopback host without --allow-remote
    const sockaddr_in address = ipv4_address("server", o.host, o.port);  // ip_port=('127.0.0.1',8080)
    std::signal(SIGPIPE, SIG_IGN);  // a vanished client is EPIPE, not death (also MSG_NOSIGNAL)

    // 1. s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)   (CLOEXEC: commands inherit no socket)
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0) die("server: socket");
    const int on = 1;  // 2. s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    // 3. s.bind(ip_port)  4. s.listen(5)
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s\n", to_string(bound).c_str());
    std::fflush(stdout);

    for (;;) {  // while True: one client after another
        // 5. conn,addr=s.accept()   (accept4 = accept + SOCK_CLOEXEC on the new socket)
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC)};
        if (conn.fd < 0) {
            accept_failed("server");  // e.g. ECONNABORTED: try the next; EMFILE: pause 100 ms (accept_backoff.h)
            continue;
        }
        const std::string peer = to_string(client);
        std::printf("client connected from %s\n", peer.c_str());  // print('客户端',addr)
        std::fflush(stdout);
        // One client at a time: one that sends nothing, or does not read its reply, for
        // --idle-timeout seconds would hold the server forever. recv/send then fail with EAGAIN.
        if (!set_silence_limit(conn.fd, o.idle_timeout)) {
            std::fprintf(stderr, "server: setsockopt: %s\n", std::strerror(errno));
            continue;
        }
        try {  // std::bad_alloc anywhere below ends this client, never the server
            for (;;) {  // while True: one command after another
                // 6. msg=conn.recv(1024) — but framed: the client frames its command as we frame our reply
                const Received command = recv_command(conn.fd, o);
                if (command.status.outcome == Outcome::ended) break;  // if not msg:break
                if (!command.status.ok()) {  // say why, close this connection, serve the next one
                    log_dropped(peer, command.status, o, /*receiving=*/true);
                    if (command.status.outcome == Outcome::failed && o.scheme != Scheme::ack)
                        answer(conn.fd, o, CommandResult{}, "bad request: " + command.status.error);
                    break;
                }
                // 7. res=subprocess.Popen(msg.decode('utf-8'),shell=True, …) and its out/err (run_command.h)
                CommandResult result;
                const std::string refused = run_for_client(command.body, o, result);
                if (command.body.find_first_not_of(" \t") != std::string::npos) {  // 响应长度- out:%d err:%d
                    std::printf("ran %s: out %zu, err %zu bytes, exit %d%s\n", quoted(command.body, 40).c_str(),
                                result.out.size(), result.err.size(), result.exit_code,
                                result.timed_out ? " (timed out)" : "");
                    std::fflush(stdout);
                }
                // 8. the answer, in the scheme's order (below)
                if (const Status sent = answer(conn.fd, o, result, refused); !sent.ok()) {
                    log_dropped(peer, sent, o, /*receiving=*/false);
                    break;
                }
            }
        } catch (const std::bad_alloc&) {
            std::fprintf(stderr, "server: client %s: out of memory: dropped\n", peer.c_str());
        }
        if (o.two_sends) std::printf("client %s: %s\n", peer.c_str(), tcp_data_segments(conn.fd).c_str());
        std::printf("client %s disconnected\n", peer.c_str());
        std::fflush(stdout);
        // 9. conn.close(): conn closes itself here (Fd); the listener waits for the next client
    }
}

// 6. One framed command. ack: its length line, our recv_ready, its bytes. fixed: 4 bytes of
// length, then the bytes. json: [4-byte length][{"command_size": N}][N bytes of command].
Received recv_command(int fd, const Options& o) {
    if (o.scheme == Scheme::ack) return message_io::recv_ack_message(fd, o.max_bytes);
    if (o.scheme == Scheme::fixed) return message_io::recv_fixed_message(fd, o.max_bytes, "command");
    const Received header = message_io::recv_fixed_message(fd, framing::kMaxJsonHeaderSize, "JSON header");
    if (!header.status.ok()) return header;
    framing::RequestHeader request;
    if (std::string error = framing::decode_request_header(header.body, o.max_bytes, request); !error.empty())
        return {"", message_io::failed(error, header.status.arrived)};
    Received command;
    command.status = message_io::recv_body(fd, request.command_size, command.body, "command", header.status.arrived);
    return command;
}

// 8. The answer. json keeps stdout, stderr and the exit status apart; ack and fixed carry only
// bytes: stdout, then stderr, then a refusal or a time-out as one line of text (server_policies.h).
Status answer(int fd, const Options& o, const CommandResult& r, const std::string& refused) {
    if (o.scheme == Scheme::json) {  // 004: 用字典的方法来打包报头 — the dict header, its length, the data
        const std::string header =
            framing::encode_reply_header({r.out.size(), r.err.size(), r.exit_code, r.signal, r.timed_out, refused});
        const std::string header_length = framing::encode_fixed_header(static_cast<std::uint32_t>(header.size()));
        return message_io::send_frame(fd, header_length, {header, r.out, r.err}, o.two_sends);
    }
    bool with_output = true;
    const std::string notice = notice_line(r, refused, o, with_output);
    std::vector<std::string_view> data{notice};
    if (with_output) data = {r.out, r.err, notice};
    const std::uint64_t size = message_io::total_size(data);  // <= --max-bytes <= 0xFFFFFFFF
    if (o.scheme == Scheme::fixed) {  // 解决方案2: header_back = struct.pack('i', len(out)); send it, then out
        const std::string header_back = framing::encode_fixed_header(static_cast<std::uint32_t>(size));
        return message_io::send_frame(fd, header_back, data, o.two_sends);
    }
    // 解决方案1: conn.send(str(data_length).encode('utf-8'))
    const std::string data_length = framing::encode_ack_length(size);
    if (!send_all(fd, data_length.data(), data_length.size())) return message_io::call_failed("send", 0);
    if (size == 0) return {};  // nothing to send, so no recv_ready to wait for (message_io.h says why)
    // data=conn.recv(1024).decode('utf-8'); if data == 'recv_ready': conn.sendall(ret)
    if (const Status ready = message_io::recv_ready(fd); !ready.ok()) return ready;
    return message_io::send_pieces(fd, {}, data);
}
