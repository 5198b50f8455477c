// helpers.h — the plumbing lesson 06's server.cpp and client.cpp share:
// error reporting, an fd owner, argument parsing, IPv4 addresses.
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
        usage_error(program, usage, std::string("bad ") + what + " '" + text + "': want a number " +
                                        std::to_string(lowest) + "-" + std::to_string(highest));
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
