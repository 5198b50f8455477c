// helpers.h — what lesson 03's server.cpp, threaded_server.cpp and client.cpp share beyond
// socket_core.h (Fd, die, the command line, addresses, send_all).
// Nothing here hides a socket call: socket/bind/listen/accept/connect/send/recv
// stay in the lesson files, in the tutorial's order.
#pragma once

#include <mutex>
#include <string>

#include "socket_core.h"

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

// The protocol of this lesson: one message = one line, ended by '\n'.
// TCP is a byte stream with no message boundaries (lesson 05 shows it): one
// recv() may return half a line or three lines at once. So received bytes go
// into `pending`, and whole lines are taken out of it here. No socket calls.
constexpr std::size_t kMaxLine = 1024;  // longest message we accept, without its '\n'

enum class LineStatus { kLine, kNeedMore, kTooLong };

inline LineStatus take_line(std::string& pending, std::string& line) {
    const std::size_t newline = pending.find('\n');
    if (newline == std::string::npos) {
        // No end in sight yet: wait for more bytes, unless this is already too long.
        return pending.size() > kMaxLine ? LineStatus::kTooLong : LineStatus::kNeedMore;
    }
    if (newline > kMaxLine) return LineStatus::kTooLong;
    line.assign(pending, 0, newline);
    pending.erase(0, newline + 1);
    return LineStatus::kLine;
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
