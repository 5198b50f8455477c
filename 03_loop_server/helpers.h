// helpers.h — the few tools lesson 03's server.cpp, threaded_server.cpp and client.cpp share.
// Nothing here hides a socket call: socket/bind/listen/accept/connect/send/recv
// stay in the lesson files, in the tutorial's order.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
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

// One line of the server's log on stdout, written whole and flushed at once:
// the threaded server's threads share stdout, and one thread's line must never
// be cut in two by another's. Bytes from the wire are written with their length.
inline void log_line(const std::string& text) {
    static std::mutex stdout_mutex;
    const std::lock_guard<std::mutex> lock(stdout_mutex);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// The protocol of this lesson is the tutorial's (001 socket_server.py, 004 持续性数据的交互):
// what ONE recv(1024) returns is one message. That holds only while each send() arrives
// in one piece and alone: TCP keeps no message boundaries, so two quick sends can come
// out of one recv glued together (README; lessons 04 and 05 show it, 06 fixes it).
// `exit` ends the session; a line-oriented client (nc, telnet) sends it as "exit\n" or
// "exit\r\n", and those end it too.
inline bool is_exit(const std::string& message) {
    return message == "exit" || message == "exit\n" || message == "exit\r\n";
}

// Bytes from the wire, made visible on one log line: "hello", "a\x00b\n". Quotes show
// where the message starts and ends; control bytes are escaped so one message is always
// one line. Bytes from 0x80 up pass through, so UTF-8 text such as 你好 stays readable.
inline std::string quoted(const std::string& bytes) {
    std::string text = "\"";
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == '"' || byte == '\\') {
            text += '\\';
            text += c;
        } else if (byte == '\n') {
            text += "\\n";
        } else if (byte == '\r') {
            text += "\\r";
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            text += escaped;
        } else {
            text += c;
        }
    }
    return text + "\"";
}

// Wait until `fd` has something to read (bytes, or the peer's close), at most `ms`
// milliseconds of wall-clock time in all, whatever signals interrupt the wait.
// Returns 1 readable, 0 time is up, -1 error (errno set).
inline int wait_readable(int fd, int ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd waiting{fd, POLLIN, 0};
        const int ready = ::poll(&waiting, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
        if (ready >= 0) return ready;
        if (errno != EINTR) return -1;
    }
}

// "--wait 2.5" -> 2500 ms. A bound must be a real one: 0.001 to 3600 seconds.
inline int parse_seconds(const char* program, const char* flag, const char* text, const char* usage) {
    if (text == nullptr) usage_error(program, usage, std::string(flag) + " needs a number of seconds");
    char* end = nullptr;
    errno = 0;
    const double seconds = std::strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno != 0 || !(seconds >= 0.001 && seconds <= 3600)) {
        usage_error(program, usage, std::string("bad ") + flag + " '" + text + "': want seconds, 0.001-3600");
    }
    return static_cast<int>(seconds * 1000);
}

// Why a session ended after send() failed: a peer that reset the connection is
// named as such (like recv's ECONNRESET), anything else by its error text.
inline std::string send_failure() {
    return errno == ECONNRESET ? "connection reset" : std::string("send: ") + std::strerror(errno);
}

// "hello" -> "HELLO" byte by byte (ASCII letters only; other bytes, UTF-8 included, pass through).
inline std::string upper_cased(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return text;
}
