// helpers.h — the few tools lesson 02's server.cpp and client.cpp share.
// Nothing here hides a socket call: socket/bind/sendto/recvfrom stay in the
// lesson files, in the tutorial's order.
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
    hints.ai_socktype = SOCK_DGRAM;
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

// Bytes from the wire, made visible on one log line: "hello", "" (an empty
// datagram), "a\x00b\n". Quotes show where a datagram starts and ends;
// control bytes are escaped so one datagram is always one line. Bytes from
// 0x80 up pass through, so UTF-8 text such as 你好 stays readable.
inline std::string quoted(const char* data, std::size_t size) {
    std::string text = "\"";
    for (std::size_t i = 0; i < size; ++i) {
        const auto byte = static_cast<unsigned char>(data[i]);
        if (byte == '"' || byte == '\\') {
            text += '\\';
            text += static_cast<char>(byte);
        } else if (byte == '\n') {
            text += "\\n";
        } else if (byte == '\t') {
            text += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            text += escaped;
        } else {
            text += static_cast<char>(byte);
        }
    }
    return text + "\"";
}
