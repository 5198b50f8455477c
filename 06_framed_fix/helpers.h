// helpers.h — what lesson 06's server.cpp and client.cpp share beyond socket_core.h:
// the command line and writing bytes out. The framing itself (the three schemes) is in
// framing.h; running a command is in run_command.h. No socket call of the lesson hides here.
#pragma once

#include <cstdint>
#include <string>

#include "framing.h"
#include "socket_core.h"

// Bytes from the wire may hold anything, NUL included: write them with their length.
inline void write_bytes(std::FILE* stream, const std::string& bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stream);
    std::fflush(stream);
}

// The command line of both programs; each accepts only its own flags.
struct Options {
    framing::Scheme scheme = framing::Scheme::json;       // --scheme ack|fixed|json
    std::uint64_t max_bytes = framing::kDefaultMaxBytes;  // --max-bytes: largest message accepted
    bool two_sends = false;     // --two-sends: header and body in two send()s (benchmark only)
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
        if (option == "--scheme" && !framing::parse_scheme(value, o.scheme))
            usage_error(program, usage, "bad --scheme '" + value + "': want ack, fixed or json");
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
    return o;
}
