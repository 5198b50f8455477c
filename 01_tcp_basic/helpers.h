// helpers.h — the few tools lesson 01's server.cpp and client.cpp share.
// Nothing here hides a socket call: socket/bind/listen/accept/connect/send/recv
// stay in the lesson files, in the tutorial's order.
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

// Bytes from the wire may hold anything, NUL included: write them with their length.
inline void print_line(const std::string& bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::printf("\n");
    std::fflush(stdout);
}

// sockaddr_in -> "127.0.0.1:50140", what Python prints as ('127.0.0.1', 50140).
inline std::string to_string(const sockaddr_in& address) {
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &address.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(address.sin_port));
}

// One send() may take fewer bytes than asked (tutorial 001 and 003 §二.4, s.send(): "返回值是要发送的字节数量,
// 该数量可能小于string的字节大小"). This is Python's sendall(): loop until all are sent.
// MSG_NOSIGNAL: a peer that has gone away gives EPIPE instead of killing us with SIGPIPE.
inline bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += sent;
        size -= static_cast<std::size_t>(sent);
    }
    return true;
}
