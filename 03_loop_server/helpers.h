// helpers.h — what lesson 03's server.cpp, threaded_server.cpp and client.cpp share beyond
// socket_core.h (Fd, die, addresses, send_all): log lines written whole, the protocol's `exit`
// and upper-casing, a bounded wait for the client. The iterative server's turn is in
// session_turn.h, the threaded server's cap in client_cap.h. Nothing here hides a socket call:
// socket/bind/listen/accept/connect/send/recv stay in the lesson files, in the tutorial's order.
#pragma once

#include <mutex>
#include <string>

#include "socket_core.h"
#include "time_limits.h"

// Bytes from the wire may hold anything, NUL included: write them with their length.
inline void print_line(const std::string& bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::printf("\n");
    std::fflush(stdout);
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

// Wait until `fd` has something to read (bytes, or the peer's close), at most `ms`
// milliseconds of wall-clock time in all, whatever signals interrupt the wait.
// Returns 1 readable, 0 time is up, -1 error (errno set).
inline int wait_readable(int fd, int ms) {
    const long long deadline = now_ms() + ms;
    for (;;) {
        const long long left = deadline - now_ms();
        pollfd waiting{fd, POLLIN, 0};
        const int ready = ::poll(&waiting, 1, left > 0 ? static_cast<int>(left) : 0);
        if (ready >= 0) return ready;
        if (errno != EINTR) return -1;
    }
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
