// helpers.h — the tools lesson 05's server.cpp and client.cpp share.
// Nothing here hides a socket call: socket/bind/listen/accept/connect/send/recv/
// sendto/recvfrom stay in the lesson files, in the tutorial's order.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

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

// "9939" -> 9939. The whole text must be a number in 0..65535; port 0 asks the
// kernel for any free port, which only makes sense for a server's bind().
inline std::uint16_t parse_port(const char* program, const char* text, bool zero_allowed, const char* usage) {
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text, &end, 10);
    const unsigned long lowest = zero_allowed ? 0 : 1;
    if (*text == '\0' || *end != '\0' || errno != 0 || *text == '-' || value < lowest ||
        value > 65535) {
        usage_error(program, usage, std::string("bad port '") + text + "': want a number " +
                               std::to_string(lowest) + "-65535");
    }
    return static_cast<std::uint16_t>(value);
}

// "127.0.0.1" or "localhost" -> an IPv4 socket address. AF_INET on purpose:
// the tutorial uses AF_INET, and asking for it avoids "localhost" turning into
// the IPv6 address ::1 that an IPv4 server is not listening on.
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

// sockaddr_in -> "127.0.0.1:50140", what Python prints as ('127.0.0.1', 50140).
inline std::string to_string(const sockaddr_in& address) {
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &address.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(address.sin_port));
}

// The four experiments; both programs are given the same one.
//   send-side     情况一 发送方的缓存机制: two send()s, the first recv(10) gets both
//   receive-side  情况二 接收方的缓存机制: recv(2) gets "he", recv(10) the rest
//   nodelay       control: TCP_NODELAY, no waiting — the split is up to timing
//   udp           contrast: two sendto()s are two datagrams, never glued
enum class Case { SendSide, ReceiveSide, NoDelay, Udp };

inline Case parse_case(const char* program, const char* text, const char* usage) {
    const std::string name = text ? text : "";
    if (name == "send-side") return Case::SendSide;
    if (name == "receive-side") return Case::ReceiveSide;
    if (name == "nodelay") return Case::NoDelay;
    if (name == "udp") return Case::Udp;
    usage_error(program, usage, "--case wants send-side, receive-side, nodelay or udp");
}

// The command line both programs share: [host] [port] [--case CASE], default 127.0.0.1 8000 send-side.
// --help prints the usage and exits 0; anything else unexpected exits 2 (usage_error).
struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;  // server.bind(('192.168.3.21', 8000)) in 002 §4.1
    Case which = Case::SendSide;
};
inline Options parse_options(const char* program, int argc, char* argv[], bool zero_port_allowed,
                             const char* usage) {
    Options options;
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::printf("usage: %s\n", usage);
            std::exit(0);
        } else if (arg == "--case") {
            options.which = parse_case(program, i + 1 < argc ? argv[++i] : nullptr, usage);
        } else if (arg[0] == '-' || positional == 2) {
            usage_error(program, usage, "unexpected argument '" + arg + "'");
        } else if (positional++ == 0) {
            options.host = arg;
        } else {
            options.port = parse_port(program, argv[i], zero_port_allowed, usage);
        }
    }
    return options;
}

// Bytes from the wire, shown so that every byte is visible: "hello", "he\x00llo".
inline std::string quoted(const char* data, std::size_t size) {
    std::string text = "\"";
    for (std::size_t i = 0; i < size; ++i) {
        const unsigned char c = static_cast<unsigned char>(data[i]);
        if (c == '"' || c == '\\') {
            text += '\\';
            text += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            text += static_cast<char>(c);
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            text += escaped;
        }
    }
    return text + "\"";
}

inline long long now_ms() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

// Waits until at least `count` bytes are queued on the socket, or the peer closed, or
// timeout_ms passed; returns how many bytes are queued then (ioctl FIONREAD).
// No sleeping and no busy loop: SO_RCVLOWAT ("low-water mark") tells poll() to report
// the socket readable only once `count` bytes are there (or at end of stream). It is
// put back to 1 afterwards, so the recv() that follows returns whatever is there.
inline int wait_for_bytes(int fd, int count, int timeout_ms) {
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &count, sizeof count) < 0) return -1;
    pollfd readable{fd, POLLIN, 0};
    const long long deadline = now_ms() + timeout_ms;
    for (long long left = timeout_ms; left > 0; left = deadline - now_ms()) {
        const int ready = ::poll(&readable, 1, static_cast<int>(left));
        if (ready > 0 || (ready < 0 && errno != EINTR)) break;
    }
    const int one = 1;
    int queued = 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one) < 0 || ::ioctl(fd, FIONREAD, &queued) < 0) {
        return -1;
    }
    return queued;
}
