// helpers.h — the plumbing lesson 06's server.cpp and client.cpp share:
// error reporting, an fd owner, the command line, IPv4 addresses.
// The framing itself (send_all, recv_exact, the three schemes) is in framing.h,
// running a command is in run_command.h. No socket call of the lesson hides here.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "framing.h"

// "server: bind: Address already in use" on stderr, then exit status 1.
// Only for setup steps: there is nothing sensible to go on with.
[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// Owns one file descriptor and closes it exactly once, on every path out of
// the scope (Python's `with socket.socket() as s:`).
struct Fd {
    int fd;
    explicit Fd(int f) noexcept : fd(f) {}
    Fd(Fd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// A bad command line: say what is wrong, show the usage, exit status 2.
[[noreturn]] inline void usage_error(const char* program, const char* usage, const std::string& problem) {
    std::fprintf(stderr, "%s: %s\nusage: %s\n", program, problem.c_str(), usage);
    std::exit(2);
}

// "123" -> 123: the whole text must be a decimal number in [lowest, highest].
inline std::uint64_t parse_number(const char* program, const char* usage, const char* what, const char* text,
                                  std::uint64_t lowest, std::uint64_t highest) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || errno != 0 || value < lowest || value > highest) {
        usage_error(program, usage,
                    std::string("bad ") + what + " '" + text + "': want a number " + std::to_string(lowest) + "-" +
                        std::to_string(highest));
    }
    return value;
}

// "localhost" or "127.0.0.1" -> an IPv4 socket address (AF_INET, like the tutorial,
// so "localhost" cannot turn into the IPv6 ::1 an IPv4 server is not listening on).
inline sockaddr_in ipv4_address(const char* program, const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
        std::fprintf(stderr, "%s: getaddrinfo: %s: %s\n", program, host.c_str(), ::gai_strerror(rc));
        std::exit(1);
    }
    sockaddr_in address{};
    std::memcpy(&address, found->ai_addr, sizeof address);
    ::freeaddrinfo(found);
    address.sin_port = htons(port);  // network byte order: big-endian on the wire
    return address;
}

// 127.0.0.0/8 only. 0.0.0.0 means "every interface", which is NOT loopback.
inline bool is_loopback(const sockaddr_in& address) {
    return (ntohl(address.sin_addr.s_addr) >> 24) == 127;
}

// sockaddr_in -> "127.0.0.1:50140", what Python prints as ('127.0.0.1', 50140).
inline std::string to_string(const sockaddr_in& address) {
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &address.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(address.sin_port));
}

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
    int timeout = 10;           // server --timeout: seconds a command may run, and a started request may take
    int wait = 60;              // client --wait: seconds the server may stay silent in a reply
    bool allow_remote = false;  // server --allow-remote: listen on a non-loopback address
    std::uint64_t bench = 0;    // client --bench N: N timed round trips instead of stdin
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  // tutorial 002 §4.2 解决方案1: ip_port=('127.0.0.1',8080)
};

inline Options parse_options(const char* program, const char* usage, int argc, char* argv[]) {
    const bool server = std::strcmp(program, "server") == 0;
    Options o;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage_error(program, usage, arg + " needs a value");
            return argv[++i];
        };
        if (arg == "-h" || arg == "--help") {
            std::printf("usage: %s\n", usage);
            std::exit(0);
        } else if (arg == "--scheme") {
            if (!framing::parse_scheme(value(), o.scheme)) usage_error(program, usage, "--scheme: ack, fixed or json");
        } else if (arg == "--max-bytes") {
            o.max_bytes = parse_number(program, usage, "--max-bytes", value(), 1, framing::kHighestMaxBytes);
        } else if (arg == "--two-sends") {
            o.two_sends = true;
        } else if (server && arg == "--timeout") {
            o.timeout = static_cast<int>(parse_number(program, usage, "--timeout", value(), 1, 86400));
        } else if (server && arg == "--allow-remote") {
            o.allow_remote = true;
        } else if (!server && arg == "--wait") {
            o.wait = static_cast<int>(parse_number(program, usage, "--wait", value(), 1, 86400));
        } else if (!server && arg == "--bench") {
            o.bench = parse_number(program, usage, "--bench", value(), 1, 100000000);
        } else if (arg.size() > 1 && arg[0] == '-') {
            usage_error(program, usage, "unknown option " + arg);
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.size() > 2) usage_error(program, usage, "too many arguments");
    if (positional.size() > 0) o.host = positional[0];
    if (positional.size() > 1) {  // port 0 = any free port, which only a server can ask for
        o.port = static_cast<std::uint16_t>(
            parse_number(program, usage, "port", positional[1].c_str(), server ? 0 : 1, 65535));
    }
    return o;
}
