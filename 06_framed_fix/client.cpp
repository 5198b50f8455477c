// Lesson 06 — framed remote-shell client: reads commands, one per line, sends each in a frame
// and prints its reply whole, however large (0 bytes or 64 MiB), never mixed with the next one.
//
// Usage:    ./client [--scheme ack|fixed|json] [--max-bytes N] [--two-sends] [--bench N] [--wait SECONDS]
//                    [host] [port]
//           default json, 67108864, wait 30 s, 127.0.0.1 8080; commands on stdin, `quit` or end of
//           input stops. --bench N: N round trips of a blank command, then prints round trips/s.
//           --wait: a server silent that long (no reply, or stuck mid-reply) is given up on.
// Partner:  ./server --scheme SAME [host] [port]
// Mirrors:  tutorial 002 §4.2 解决方案1 (ack) and 解决方案2 (fixed), 000 end of §四 and 004 end (json).

#include <sys/time.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "framing.h"
#include "helpers.h"
#include "message_io.h"
#include "quoted.h"
#include "time_limits.h"

constexpr const char* kUsage =
    "client [--scheme ack|fixed|json] [--max-bytes N] [--two-sends] [--bench N] [--wait SECONDS] [host] [port]   "
    "(default json, 67108864, 30, 127.0.0.1 8080)";

struct Reply {
    std::string out, err;         // ack and fixed: everything is in `out`
    framing::ReplyHeader header;  // json only: sizes, exit code, signal, timed_out, error
};

std::string talk(int fd, const Options& o, const std::string& command, Reply& reply);  // below main

int main(int argc, char* argv[]) {
    const Options o = parse_options("client", kUsage, argc, argv);

    std::signal(SIGPIPE, SIG_IGN);  // `client | head -1`: a reader that went away is EPIPE, never death

    // 1. socket  2. connect   (s.connect_ex(('127.0.0.1', 8080)))
    Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("client: socket");
    const sockaddr_in server = ipv4_address("client", o.host, o.port);
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");
    // A server that goes silent (never replies, or stops mid-reply) must not hang us forever.
    if (!set_silence_limit(sock.fd, o.wait)) die("client: setsockopt");

    if (o.bench > 0) {  // N small request/response round trips, timed
        const auto start = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < o.bench; ++i) {
            Reply reply;
            if (const std::string error = talk(sock.fd, o, " ", reply); !error.empty() || !reply.out.empty()) {
                std::fprintf(stderr, "client: round trip %llu: %s\n", static_cast<unsigned long long>(i + 1),
                             error.empty() ? "unexpected non-empty reply" : error.c_str());
                return 1;
            }
        }
        const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
        std::printf("%s%s: %llu round trips in %.6f s: %.1f round trips/s\n", to_string(o.scheme),
                    o.two_sends ? " (two sends)" : "", static_cast<unsigned long long>(o.bench), seconds.count(),
                    static_cast<double>(o.bench) / seconds.count());
        if (o.two_sends) std::printf("%s\n", tcp_data_segments(sock.fd).c_str());
        return 0;
    }

    // 3. send each command, 4. recv its whole reply   (while True: msg = input('>>: ').strip() ...)
    const bool interactive = ::isatty(0) == 1;
    std::string command;
    for (;;) {
        if (interactive) write_bytes(stdout, ">>: ");
        if (!std::getline(std::cin, command) || command == "quit") break;
        if (command.find_first_not_of(" \t") == std::string::npos) continue;  // if len(msg) == 0: continue
        Reply reply;
        if (const std::string error = talk(sock.fd, o, command, reply); !error.empty()) {
            std::fprintf(stderr, "client: %s\n", error.c_str());
            return 1;
        }
        write_bytes(stdout, reply.out);  // print(data.decode()), but as bytes: no decoding needed
        write_bytes(stderr, reply.err);
        const framing::ReplyHeader& h = reply.header;
        if (!h.error.empty())  // the server's words may hold anything (ESC ...): ::quoted, not <iomanip>'s
            std::fprintf(stderr, "client: the server refused: %s\n", ::quoted(h.error).c_str());
        else if (h.timed_out)
            std::fprintf(stderr, "[timed out: killed by the server]\n");
        else if (h.signal != 0)
            std::fprintf(stderr, "[killed by signal %d]\n", h.signal);
        else if (h.exit_code != 0)
            std::fprintf(stderr, "[exit status %d]\n", h.exit_code);
    }
    if (o.two_sends) std::fprintf(stderr, "client: %s\n", tcp_data_segments(sock.fd).c_str());
    // 5. close: sock closes itself (Fd); the server sees end of stream and serves the next client
    return 0;
}

// json: [4-byte length][JSON header], then exactly stdout_size + stderr_size bytes.
message_io::Status recv_json_reply(int fd, const Options& o, Reply& reply) {
    const message_io::Received header = message_io::recv_fixed_message(fd, framing::kMaxJsonHeaderSize, "JSON header");
    if (!header.status.ok()) return header.status;
    const std::string error = framing::decode_reply_header(header.body, o.max_bytes, reply.header);
    if (!error.empty()) return message_io::failed(error, header.status.arrived);
    const message_io::Status out = message_io::recv_body(fd, reply.header.stdout_size, reply.out, "stdout", 1);
    return out.ok() ? message_io::recv_body(fd, reply.header.stderr_size, reply.err, "stderr", 1) : out;
}

// What a failed step of talk() says: a server silent for --wait seconds (set_silence_limit in
// main: recv or send then fails with EAGAIN), a server that closed, or the step's own error.
std::string said(const message_io::Status& status, const Options& o, const std::string& prefix) {
    if (status.outcome == message_io::Outcome::silent) return server_gave_no_answer(o.wait);
    if (status.outcome == message_io::Outcome::ended) return "the server closed the connection";
    return status.ok() ? "" : prefix + status.error;
}

// One command out, one whole reply in. Returns "" or what went wrong.
std::string talk(int fd, const Options& o, const std::string& command, Reply& reply) {
    message_io::Status sent;
    if (o.scheme == Scheme::json) {  // the dict header {"command_size": N}, its length, the command
        sent = message_io::send_json_message(fd, framing::encode_request_header({command.size()}), {command},
                                             o.two_sends);
    } else if (o.scheme == Scheme::ack) {  // the length, wait for recv_ready, the command
        sent = message_io::send_ack_message(fd, {command});
    } else {  // struct.pack('!I', len(cmd)), then the command
        sent = message_io::send_fixed_message(fd, {command}, o.two_sends);
    }
    if (!sent.ok()) return said(sent, o, "");
    if (o.scheme == Scheme::json) return said(recv_json_reply(fd, o, reply), o, "bad reply: ");
    message_io::Received body = o.scheme == Scheme::ack ? message_io::recv_ack_message(fd, o.max_bytes)
                                                        : message_io::recv_fixed_message(fd, o.max_bytes, "reply");
    reply.out = std::move(body.body);
    return said(body.status, o, "bad reply: ");
}
