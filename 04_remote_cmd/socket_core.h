// socket_core.h — the small tools every lesson shares: an fd owner, error exits, one command
// line, IPv4 addresses, sendall/readn, and bytes from the network made safe to print.
// Nothing here hides a socket call: socket/bind/listen/accept/connect/send/recv stay in the
// lesson files, in the tutorial's order.
//
// A COPY, kept byte-identical in every lesson folder so that each folder builds alone.
// The original is 01_tcp_basic/socket_core.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// "server: bind: Address already in use" on stderr, then exit status 1. Setup steps only.
[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// Owns one descriptor and closes it exactly once (Python's `with socket.socket() as s:`).
struct Fd {
    int fd;
    explicit Fd(int f) noexcept : fd(f) {}
    Fd(Fd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd() { reset(); }
    void reset() {  // close it now, e.g. our copy of a pipe's write end
        if (fd >= 0) ::close(std::exchange(fd, -1));
    }
};

// ---- the command line, the same for every program -------------------------------------------
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

// ---- addresses -------------------------------------------------------------------------------
// "127.0.0.1" or "localhost" -> an IPv4 address. AF_INET like the tutorial, so that "localhost"
// cannot turn into the IPv6 ::1 that an IPv4 server is not listening on.
inline sockaddr_in ipv4_address(const char* program, const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
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
inline bool is_loopback(const sockaddr_in& address) { return (ntohl(address.sin_addr.s_addr) >> 24) == 127; }

// sockaddr_in -> "127.0.0.1:50140", what Python prints as ('127.0.0.1', 50140).
inline std::string to_string(const sockaddr_in& address) {
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &address.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(address.sin_port));
}

// ---- whole messages over a byte stream -------------------------------------------------------
// One send() may take fewer bytes than asked (001 and 003 §二.4, s.send(): "该数量可能小于string的字节大小"):
// Python's sendall() loops. MSG_NOSIGNAL: a vanished peer is EPIPE, not death by SIGPIPE.
inline bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) return false;
        data += sent;
        size -= static_cast<std::size_t>(sent);
    }
    return true;
}

// UNP's readn (tutorial 002 §4.2: `while recv_size < length:`): exactly `size` bytes, or fewer
// when the peer closed first, or -1 with errno set (EAGAIN: an SO_RCVTIMEO timeout).
inline ssize_t recv_exact(int fd, char* data, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        const ssize_t received = ::recv(fd, data + got, size - got, 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) return -1;
        if (received == 0) break;  // end of stream: not an error
        got += static_cast<std::size_t>(received);
    }
    return static_cast<ssize_t>(got);
}

inline long long now_ms() {  // a clock that never jumps: for deadlines
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

// SO_RCVTIMEO and SO_SNDTIMEO: a recv() that gets nothing, or a send() that can hand the
// kernel nothing, for `seconds` fails with EAGAIN instead of waiting forever. It bounds
// silence, one call at a time, not a whole exchange: a peer that trickles bytes is not stopped.
inline bool set_silence_limit(int fd, double seconds) {
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(seconds);
    limit.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(limit.tv_sec)) * 1e6);
    return ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0 &&
           ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == 0;
}

// What a client says when a recv or send under that limit (its --wait SECONDS) failed: errno
// EAGAIN means the limit ran out, "the server did not answer for 2 s (--wait 2): giving up";
// any other errno leaves `failure`, the call's own error ("recv: Connection reset by peer").
inline std::string silence_or(const std::string& failure, double seconds) {
    if (errno != EAGAIN) return failure;
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);  // %g: "30", "0.5", not "30.000000"
    return std::string("the server did not answer for ") + text + " s (--wait " + text + "): giving up";
}

// Waits until `count` bytes are queued, the peer closed, or timeout_ms passed; returns how many
// are queued then (FIONREAD). No sleep: SO_RCVLOWAT makes poll() wake only at `count` bytes.
inline int wait_for_bytes(int fd, int count, int timeout_ms) {
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &count, sizeof count) < 0) return -1;
    pollfd readable{fd, POLLIN, 0};
    const long long deadline = now_ms() + timeout_ms;
    for (long long left = timeout_ms; left > 0; left = deadline - now_ms()) {
        const int ready = ::poll(&readable, 1, static_cast<int>(left));
        if (ready > 0 || (ready < 0 && errno != EINTR)) break;
    }
    const int one = 1;  // back to normal, so the next recv() returns whatever is there
    int queued = 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one) < 0 || ::ioctl(fd, FIONREAD, &queued) < 0) {
        return -1;
    }
    return queued;
}

// ---- when accept() fails ---------------------------------------------------------------------
// Every server's accept loop, the accept call itself in the lesson:
//     Fd conn{::accept4(listener.fd, ..., SOCK_CLOEXEC)};
//     if (conn.fd < 0) {
//         accept_failed("server");  // logs it; out of descriptors or memory: pauses 100 ms
//         continue;
//     }
// A client that gave up while queued (ECONNABORTED) is logged and the loop goes on at once.
// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) is different: the connection
// stays queued, so the very next accept() fails the same way, and a loop that retries at once
// spins at 100 % CPU writing the same line to the log, megabytes a second. So: one log line
// per burst (a burst ends after a second without this failure), and a 100 ms pause before the
// next try. A plain pause, not poll() on the listener: the listener is readable all along (the
// queued connection is still there). The queued clients are served once a descriptor is free.
inline void accept_failed(const char* program) {
    const int error = errno;
    if (error == EINTR) return;  // a signal: just call accept() again
    if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) {
        std::fprintf(stderr, "%s: accept: %s\n", program, std::strerror(error));
        return;
    }
    static long long last_failure_ms = -1000000;  // the previous out-of-resources failure
    if (now_ms() - last_failure_ms > 1000) {
        std::fprintf(stderr, "%s: accept: %s (retrying every 100 ms; said once per burst)\n", program,
                     std::strerror(error));
    }
    ::poll(nullptr, 0, 100);  // waits 100 ms (or less, if a signal comes)
    last_failure_ms = now_ms();
}

// ---- bytes from the network, safe on a terminal or in a log line ------------------------------
// "hello", "" (empty), "a\x00b\n", "你好": valid UTF-8 passes, so text stays readable; control
// characters (ESC, CR ...), C1 controls and the characters that hide or reorder text (bidi
// overrides such as U+202E, zero-width ones) are escaped, so "abc\u202etxt.exe" cannot pose as
// "abcexe.txt"; so is every byte that is not UTF-8. At most `max` bytes are shown, then "...".
inline std::string quoted(std::string_view bytes, std::size_t max = std::string_view::npos) {
    std::string text = "\"";
    char escape[12];
    std::size_t i = 0;
    while (i < bytes.size() && i < max) {
        const auto lead = static_cast<unsigned char>(bytes[i]);
        // UTF-8: the first byte says how long the sequence is; each next byte is 10xxxxxx
        const std::size_t n = lead < 0x80   ? 1
                              : lead < 0xc2 ? 0  // a continuation byte, or an overlong 2-byte lead
                              : lead < 0xe0 ? 2
                              : lead < 0xf0 ? 3
                              : lead < 0xf5 ? 4
                                            : 0;  // would be above U+10FFFF
        std::uint32_t code = n == 1 ? lead : lead & (0x7f >> n);
        std::size_t k = 1;
        for (; k < n && i + k < bytes.size() && (bytes[i + k] & 0xc0) == 0x80; ++k) {
            code = code << 6 | (bytes[i + k] & 0x3f);
        }
        const bool utf8 = n > 0 && k == n && !(n == 3 && code < 0x800) && !(n == 4 && code < 0x10000) &&
                          code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
        if (!utf8) {
            std::snprintf(escape, sizeof escape, "\\x%02x", lead);
            text += escape;
            ++i;
            continue;
        }
        if (code == '"' || code == '\\') {
            text += '\\';
            text += static_cast<char>(code);
        } else if (code == '\n' || code == '\t' || code == '\r') {
            text += code == '\n' ? "\\n" : code == '\t' ? "\\t" : "\\r";
        } else if (code < 0x20 || code == 0x7f) {
            std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned>(code));
            text += escape;
        } else if ((code >= 0x80 && code < 0xa0) || code == 0x61c || (code >= 0x200b && code <= 0x200f) ||
                   (code >= 0x2028 && code <= 0x202e) || (code >= 0x2060 && code <= 0x2069) || code == 0xfeff) {
            std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(code));
            text += escape;
        } else {
            text.append(bytes.substr(i, n));
        }
        i += n;
    }
    return text + (i < bytes.size() ? "\"..." : "\"");
}
// Exact matches for a std::string and a C string: std::quoted, which argument-dependent lookup
// also finds for a std::string once <iomanip> is included (nlohmann/json.hpp does), must not win.
inline std::string quoted(const std::string& bytes, std::size_t max = std::string::npos) {
    return quoted(std::string_view(bytes), max);
}
inline std::string quoted(const char* bytes, std::size_t max = std::string::npos) {
    return quoted(std::string_view(bytes), max);
}
