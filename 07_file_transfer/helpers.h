// helpers.h — the socket tools lesson 07's server.cpp and client.cpp share
// (the protocol itself, with no socket call, is in protocol.h).
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

#include "protocol.h"  // encode_frame, decode_frame_length

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

// One send() may take fewer bytes than asked (tutorial 002: "返回值是要发送的字节数量,
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

// write() may also write less than asked (e.g. just up to a file size limit): loop.
inline bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

// The temporary file of one upload: removed when we leave, whatever happened,
// unless it was renamed into place (then `path` is cleared).
struct TempFile {
    std::string path;
    Fd file{-1};
    ~TempFile() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

// Python has no recv_exact; tutorial 004 loops `while recv_size < total_size`.
// Keep calling recv() until `size` bytes are in: one send is not one recv.
// Returns how many bytes arrived: `size`, or fewer when the peer closed the
// connection first (errno = 0) or recv() failed (errno says why; EAGAIN = timeout).
inline std::size_t recv_exact(int fd, char* data, std::size_t size) {
    std::size_t got = 0;
    errno = 0;
    while (got < size) {
        const ssize_t received = ::recv(fd, data + got, size - got, 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) break;
        if (received == 0) {  // end of stream: not an error
            errno = 0;
            break;
        }
        got += static_cast<std::size_t>(received);
    }
    return got;
}

// Send one frame (protocol.h's encode_frame): length and body in one send_all,
// so they leave together instead of as two small segments.
inline bool send_frame(int fd, const std::string& body) {
    const std::string frame = encode_frame(body);
    return send_all(fd, frame.data(), frame.size());
}

// Receive one frame of at most `limit` bytes into `body`; on failure `error`
// says what went wrong. The length is checked BEFORE anything is allocated.
inline bool recv_frame(int fd, std::size_t limit, std::string& body, std::string& error) {
    char prefix[4];
    if (recv_exact(fd, prefix, sizeof prefix) != sizeof prefix) {
        error = errno ? std::string("recv: ") + std::strerror(errno) : "connection closed before a frame";
        return false;
    }
    const auto length = decode_frame_length(prefix, limit, error);
    if (!length) return false;
    body.assign(*length, '\0');
    if (recv_exact(fd, body.data(), *length) != *length) {
        error = errno ? std::string("recv: ") + std::strerror(errno) : "connection closed inside a frame";
        return false;
    }
    return true;
}

// Bytes from the network, made safe for one line of a terminal or a log: in double quotes,
// with \" \\ \n \t, other control bytes and bytes that are not UTF-8 as \xNN, and the
// characters that hide or reorder text (C1 controls, bidi overrides such as U+202E, zero-width
// ones) as \uXXXX, so that "abc\u202etxt.exe" cannot pose as "abcexe.txt". Other UTF-8 (你好)
// stays readable. (A std::string parameter, so that this beats std::quoted, which ADL also finds.)
inline std::string quoted(const std::string& bytes) {
    std::string text = "\"";
    char escape[12];
    for (std::size_t i = 0; i < bytes.size();) {
        const auto byte = static_cast<unsigned char>(bytes[i]);
        // The UTF-8 sequence starting here: its length (0: not UTF-8) and its code point.
        std::size_t length = byte < 0x80 ? 1 : byte < 0xc2 ? 0 : byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : byte < 0xf5 ? 4 : 0;
        char32_t code = length == 1 ? byte : byte & (0x7f >> length);
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = i + k < bytes.size() ? static_cast<unsigned char>(bytes[i + k]) : 0;
            if ((next & 0xc0) != 0x80) length = 0;
            code = code << 6 | (next & 0x3f);
        }
        const char32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};  // anything less is an overlong form
        if (length == 0 || code < shortest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
            std::snprintf(escape, sizeof escape, "\\x%02x", byte);
            text += escape;
            ++i;
            continue;
        }
        if (code == '"' || code == '\\') {
            text += '\\';
            text += static_cast<char>(code);
        } else if (code == '\n') {
            text += "\\n";
        } else if (code == '\t') {
            text += "\\t";
        } else if (code < 0x20 || code == 0x7f) {
            std::snprintf(escape, sizeof escape, "\\x%02x", byte);
            text += escape;
        } else if ((code >= 0x80 && code < 0xa0) || code == 0x61c || (code >= 0x200b && code <= 0x200f) ||
                   (code >= 0x2028 && code <= 0x202e) || (code >= 0x2060 && code <= 0x2069) || code == 0xfeff) {
            std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(code));
            text += escape;
        } else {
            text.append(bytes, i, length);
        }
        i += length;
    }
    return text + "\"";
}
