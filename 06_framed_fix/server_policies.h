// server_policies.h — lesson 06's server, beyond the tutorial's calls: which commands it runs
// and how (run_for_client), the line it adds to a text reply so that a refusal or a time-out is
// never silent and never over --max-bytes (notice_line), and the words of its log when it drops
// a client (log_dropped: what the client sent, and what it stopped doing).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "helpers.h"     // Options
#include "message_io.h"  // Status
#include "run_command.h"

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
