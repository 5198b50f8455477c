// command_line.h — the one command line every program follows: `[host] [port]` and the
// program's options in any order, `--help`, decimal numbers only, and a one-line error with the
// usage and exit status 2 for anything else. A student may skip it: it is not about sockets.
//
// A COPY, kept byte-identical in every lesson folder that uses it, so that each folder builds alone.
// The original is 01_tcp_basic/command_line.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// A bad command line: say what is wrong, show the usage, exit status 2.
[[noreturn]] inline void usage_error(const char* program, const char* usage, const std::string& problem) {
    std::fprintf(stderr, "%s: %s\nusage: %s\n", program, problem.c_str(), usage);
    std::exit(2);
}

struct CommandLine {
    std::vector<std::string> positional;                      // e.g. host, port
    std::vector<std::pair<std::string, std::string>> options;  // {"--timeout", "2"}, {"--allow-remote", ""}
};

// Options may stand before or after the positional arguments; `--help`/`-h` prints the usage;
// `--` ends the options. `known` spells the program's options as its usage line does:
// "--timeout SECONDS" takes a value, "--allow-remote" does not. "-1" is a (bad) number, not an option.
inline CommandLine parse_command_line(const char* program, const char* usage, int argc, char* argv[],
                                      std::initializer_list<std::string_view> known, std::size_t most_positional) {
    CommandLine line;
    bool options_ended = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (options_ended || arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) {
            line.positional.push_back(arg);
        } else if (arg == "--") {
            options_ended = true;
        } else if (arg == "--help" || arg == "-h") {
            std::printf("usage: %s\n", usage);
            std::exit(0);
        } else {
            std::string_view spelling;  // this option's entry in `known`, if any
            for (const std::string_view k : known) spelling = k.substr(0, k.find(' ')) == arg ? k : spelling;
            if (spelling.empty()) usage_error(program, usage, "unknown option '" + arg + "'");
            const bool takes_value = spelling.find(' ') != std::string_view::npos;
            if (takes_value && i + 1 == argc) usage_error(program, usage, arg + " needs a value");
            line.options.push_back({arg, takes_value ? argv[++i] : ""});
        }
    }
    if (line.positional.size() > most_positional) usage_error(program, usage, "too many arguments");
    return line;
}

// "8080" -> 8080: decimal digits only (no sign, no spaces, no 0x), within lowest..highest.
inline std::uint64_t parse_number(const char* program, const char* usage, const std::string& what,
                                  const std::string& text, std::uint64_t lowest, std::uint64_t highest) {
    bool ok = !text.empty() && text.size() <= 19;  // 19 digits cannot overflow 64 bits
    std::uint64_t value = 0;
    for (const char c : text) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!ok || value < lowest || value > highest) {
        usage_error(program, usage, "bad " + what + " '" + text + "': want a number " + std::to_string(lowest) +
                                        "-" + std::to_string(highest));
    }
    return value;
}

// Port 0 asks the kernel for any free port, which only a server's bind() can use.
inline std::uint16_t parse_port(const char* program, const std::string& text, bool zero_allowed, const char* usage) {
    return static_cast<std::uint16_t>(parse_number(program, usage, "port", text, zero_allowed ? 0 : 1, 65535));
}

// "2" or "0.5" -> seconds, for every --timeout and --wait: digits, maybe a fraction, 0.001-86400.
inline double parse_seconds(const char* program, const char* usage, const std::string& what, const std::string& text) {
    const std::size_t dot = text.find('.');
    const std::string whole = text.substr(0, dot), fraction = dot == std::string::npos ? "0" : text.substr(dot + 1);
    const bool digits = !whole.empty() && !fraction.empty() &&
                        (whole + fraction).find_first_not_of("0123456789") == std::string::npos;
    const double seconds = digits ? std::strtod(text.c_str(), nullptr) : 0;
    if (!(seconds >= 0.001 && seconds <= 86400)) {
        usage_error(program, usage, "bad " + what + " '" + text + "': want seconds, 0.001-86400");
    }
    return seconds;
}
