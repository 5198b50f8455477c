// socket_core.h — what a student reads first: an fd owner, the error exit, IPv4 addresses, and
// sendall/readn for whole messages over a byte stream (UNP's lib, in small). Nothing here hides a
// socket call: socket/bind/listen/accept/connect/send/recv stay in the lesson files, in the
// tutorial's order. What a student may skip lives in headers named for what they do:
// command_line.h, time_limits.h, accept_backoff.h, quoted.h.
//
// A COPY, kept byte-identical in every lesson folder that uses it, so that each folder builds alone.
// The original is 01_tcp_basic/socket_core.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
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

// ---- addresses (IPv4) ----------------------------------------------------------------------------
// "127.0.0.1" or "localhost" -> an IPv4 address. AF_INET like the tutorial, so that "localhost"
// cannot turn into the IPv6 ::1 that an IPv4 server is not listening on.
inline sockaddr_in ipv4_address(const char* program, const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
        in6_addr ipv6{};  // "::1": the lessons speak IPv4 (AF_INET), like the tutorial
        const bool is_ipv6 = ::inet_pton(AF_INET6, host.c_str(), &ipv6) == 1;
        std::fprintf(stderr, "%s: getaddrinfo: %s: %s\n", program, host.c_str(),
                     is_ipv6 ? "an IPv6 address; the lessons use IPv4 (AF_INET), e.g. 127.0.0.1" : ::gai_strerror(rc));
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
