// helpers.h — what lesson 06's server.cpp and client.cpp share beyond socket_core.h: the command
// line, writing bytes out, the TCP counters that --two-sends prints, and the server's policies
// (which commands it runs, the line it adds to a text reply, the words of its log). The framing
// itself (the three schemes) is in framing.h, moving messages in message_io.h; running a command
// is in run_command.h. No socket call of the lesson hides here.
#pragma once

#include <linux/tcp.h>  // struct tcp_info with tcpi_data_segs_in/out (glibc's netinet/tcp.h lacks them)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "framing.h"
#include "message_io.h"
#include "run_command.h"
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

// ---- the server's policies (README: "Hostile peers") ----------------------------------------

// Runs one command; returns "" or why there is no output to send (the README's output policy).
// A blank command prints nothing and exits 0 under sh -c: it is answered without a shell (the
// client's --bench sends " " so that it measures the framing, not fork+exec).
inline std::string run_for_client(const std::string& command, const Options& o, CommandResult& result) {
    if (command.find_first_not_of(" \t") == std::string::npos) {
        result.exit_code = 0;
        return "";
    }
    if (command.find('\0') != std::string::npos) return "the command contains a NUL byte";  // argv ends at NUL
    if (!run_command(command, o.timeout, o.max_bytes, result)) return std::string("posix_spawn: ") + std::strerror(errno);
    if (result.out_of_memory) return "out of memory while keeping the command's output";
    if (!result.too_large) return "";
    return "output of more than " + std::to_string(o.max_bytes) + " bytes refused (limit: --max-bytes " +
           std::to_string(o.max_bytes) + ")";
}

// ack and fixed carry only bytes: a refusal or a time-out is told in a line of text after the
// output. The reply never exceeds --max-bytes (the client would refuse it): when the output and
// the line together would, the line still goes and the output does not, and the line says so.
// Returns the line ("" if none), and whether the output goes with it.
inline std::string notice_line(const CommandResult& r, const std::string& refused, const Options& o,
                               bool& with_output) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", o.timeout);
    std::string what;
    if (!refused.empty()) what = refused;
    else if (r.timed_out) what = std::string("command timed out after ") + seconds + " s, killed";
    const std::uint64_t output = r.out.size() + r.err.size();
    with_output = true;
    if (what.empty()) return "";
    if (output + what.size() + 9 <= o.max_bytes) return "server: " + what + "\n";  // 9: "server: " and "\n"
    with_output = false;
    const std::string line = "server: " + what + "; its " + std::to_string(output) +
                             " bytes of output not sent: with this line they exceed --max-bytes " +
                             std::to_string(o.max_bytes) + "\n";
    if (line.size() <= o.max_bytes) return line;
    with_output = true;  // not even the line fits: the output alone, as ever within the limit
    return "";
}

// Why the server dropped a client, truthfully: what it sent, and what it stopped doing.
inline void log_dropped(const std::string& peer, const message_io::Status& s, const Options& o, bool receiving) {
    using message_io::Outcome;
    if (s.outcome == Outcome::silent && !receiving) {
        std::fprintf(stderr, "server: client %s did not read its reply for %g s (--idle-timeout): dropped\n",
                     peer.c_str(), o.idle_timeout);
    } else if (s.outcome == Outcome::silent && s.arrived == 0) {
        std::fprintf(stderr, "server: client %s sent nothing for %g s (--idle-timeout): dropped\n", peer.c_str(),
                     o.idle_timeout);
    } else if (s.outcome == Outcome::silent) {
        std::fprintf(stderr, "server: client %s sent %llu bytes of a request, then nothing for %g s "
                     "(--idle-timeout): dropped\n", peer.c_str(), static_cast<unsigned long long>(s.arrived),
                     o.idle_timeout);
    } else if (receiving) {
        std::fprintf(stderr, "server: client %s: bad request: %s\n", peer.c_str(), s.error.c_str());
    } else {
        std::fprintf(stderr, "server: client %s: %s\n", peer.c_str(), s.error.c_str());
    }
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
