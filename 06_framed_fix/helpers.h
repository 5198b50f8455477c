// helpers.h — what lesson 06's server.cpp and client.cpp share beyond socket_core.h: the command
// line, writing bytes out, and the TCP counters that --two-sends prints. The framing itself (the
// three schemes) is in framing.h, moving messages in message_io.h; the server's policies in
// server_policies.h; running a command in run_command.h. No socket call of the lesson hides here.
#pragma once

#include <linux/tcp.h>  // struct tcp_info with tcpi_data_segs_in/out (glibc's netinet/tcp.h lacks them)

#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "framing.h"
#include "socket_core.h"
#include "command_line.h"

// Bytes from the wire may hold anything, NUL included: write them with their length.
inline void write_bytes(std::FILE* stream, const std::string& bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stream);
    std::fflush(stream);
}

enum class Scheme { ack, fixed, json };  // framing.h's three ways to frame a message

inline const char* to_string(Scheme scheme) {
    switch (scheme) {
        case Scheme::ack: return "ack";
        case Scheme::fixed: return "fixed";
        case Scheme::json: break;
    }
    return "json";
}

// The command line of both programs; each accepts only its own flags.
struct Options {
    Scheme scheme = Scheme::json;                         // --scheme ack|fixed|json
    std::uint64_t max_bytes = framing::kDefaultMaxBytes;  // --max-bytes: largest message accepted
    bool two_sends = false;     // --two-sends: header and body in two send()s (a measurement)
    double timeout = 10;        // server --timeout: seconds a command may run
    double idle_timeout = 60;   // server --idle-timeout: seconds a client may send nothing / read nothing
    double wait = 30;           // client --wait: seconds of silence from the server before giving up
                                // (longer than the server's default --timeout of 10 s)
    bool allow_remote = false;  // server --allow-remote: listen on a non-loopback address
    std::uint64_t bench = 0;    // client --bench N: N timed round trips instead of stdin
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  // tutorial 002 §4.2 解决方案1: ip_port=('127.0.0.1',8080)
};

inline Options parse_options(const char* program, const char* usage, int argc, char* argv[]) {
    const bool server = std::string(program) == "server";
    const CommandLine line =
        server ? parse_command_line(program, usage, argc, argv,
                                    {"--scheme NAME", "--max-bytes N", "--timeout SECONDS", "--idle-timeout SECONDS",
                                     "--two-sends", "--allow-remote"}, 2)
               : parse_command_line(program, usage, argc, argv,
                                    {"--scheme NAME", "--max-bytes N", "--two-sends", "--bench N", "--wait SECONDS"},
                                    2);
    Options o;
    for (const auto& [option, value] : line.options) {
        if (option == "--scheme") {
            if (value == "ack") o.scheme = Scheme::ack;
            else if (value == "fixed") o.scheme = Scheme::fixed;
            else if (value == "json") o.scheme = Scheme::json;
            else usage_error(program, usage, "bad --scheme '" + value + "': want ack, fixed or json");
        }
        if (option == "--max-bytes")
            o.max_bytes = parse_number(program, usage, option, value, 1, framing::kHighestMaxBytes);
        if (option == "--two-sends") o.two_sends = true;
        if (option == "--timeout") o.timeout = parse_seconds(program, usage, option, value);
        if (option == "--idle-timeout") o.idle_timeout = parse_seconds(program, usage, option, value);
        if (option == "--wait") o.wait = parse_seconds(program, usage, option, value);
        if (option == "--allow-remote") o.allow_remote = true;
        if (option == "--bench") o.bench = parse_number(program, usage, option, value, 1, 100000000);
    }
    if (line.positional.size() > 0) o.host = line.positional[0];
    if (line.positional.size() > 1) o.port = parse_port(program, line.positional[1], /*zero_allowed=*/server, usage);
    if (server && !is_loopback(ipv4_address(program, o.host, o.port)) && !o.allow_remote) {
        usage_error(program, usage,
                    "refusing to listen on " + o.host + ": not a loopback (127.x.x.x) address, and anyone who can "
                    "reach it could run any command as you; add --allow-remote if you mean it");
    }
    if (server && !is_loopback(ipv4_address(program, o.host, o.port))) {
        std::fprintf(stderr, "server: WARNING: --allow-remote: anyone who can reach %s can run commands as you\n",
                     o.host.c_str());
    }
    return o;
}

// What the client says when the server was silent for --wait seconds (time_limits.h's
// silence_or words it the same; here the Status, not errno, says that the limit ran out).
inline std::string server_gave_no_answer(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    return std::string("the server did not answer for ") + text + " s (--wait " + text + "): giving up";
}

// --two-sends, beyond the tutorial: the wire made visible. The kernel counts, per connection,
// the TCP segments that carried data out of this socket and into it (TCP_INFO, Linux 4.6 and
// later). One sendmsg() of a small message is one segment; two send()s are two, the second held
// back by Nagle until the first is ACKed, an ACK the receiver delays by up to tcpi_ato (README).
inline std::string tcp_data_segments(int fd) {
    tcp_info info{};
    socklen_t size = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) < 0) {
        return std::string("getsockopt(TCP_INFO): ") + std::strerror(errno);
    }
    if (size < offsetof(tcp_info, tcpi_data_segs_out) + sizeof info.tcpi_data_segs_out) {  // an older kernel fills less
        return "TCP data segments: not counted by this kernel (tcpi_data_segs_in/out need Linux 4.6 or later)";
    }
    return "TCP data segments: " + std::to_string(info.tcpi_data_segs_out) + " sent, " +
           std::to_string(info.tcpi_data_segs_in) + " received (tcpi_data_segs_out/in); delayed-ACK timeout " +
           std::to_string(info.tcpi_ato / 1000) + " ms (tcpi_ato)";
}
