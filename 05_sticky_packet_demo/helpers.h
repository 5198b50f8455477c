// helpers.h — lesson 05's own, beyond socket_core.h: the four experiments and the command line
// that picks one; the server's bounded waits (wait_for_client before accept, wait_until_queued
// before the tutorial's recv calls) and its ready line; TCP_INFO, for both programs.
#pragma once

#include <linux/tcp.h>  // TCP_NODELAY, TCP_INFO and the kernel's own struct tcp_info

#include <cmath>
#include <cstddef>
#include <string>

#include "socket_core.h"
#include "command_line.h"
#include "time_limits.h"

// The four experiments; both programs are given the same one.
//   send-side     情况一 发送方的缓存机制: two send()s, the first recv(10) gets both
//   receive-side  情况二 接收方的缓存机制: recv(2) gets "he", recv(10) the rest
//   nodelay       control: TCP_NODELAY, no waiting — the split is up to timing
//   udp           contrast: two sendto()s are two datagrams, never glued
enum class Case { SendSide, ReceiveSide, NoDelay, Udp };

inline Case parse_case(const char* program, const std::string& name, const char* usage) {
    if (name == "send-side") return Case::SendSide;
    if (name == "receive-side") return Case::ReceiveSide;
    if (name == "nodelay") return Case::NoDelay;
    if (name == "udp") return Case::Udp;
    usage_error(program, usage, "--case wants send-side, receive-side, nodelay or udp");
}

// The command line both programs share: [host] [port] [--case CASE], default 127.0.0.1 8000
// send-side; the server also takes --wait SECONDS (both of its waits, see server.cpp).
struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;  // server.bind(('192.168.3.21', 8000)) in 002 §4.1
    Case which = Case::SendSide;
    int client_wait_ms = 60000;  // server: for the client to turn up (a person starts it by hand)
    int bytes_wait_ms = 5000;    // server: then for its bytes (in a normal run they take microseconds)
};
inline Options parse_options(const char* program, int argc, char* argv[], bool server, const char* usage) {
    const CommandLine line = server
                                 ? parse_command_line(program, usage, argc, argv, {"--case CASE", "--wait SECONDS"}, 2)
                                 : parse_command_line(program, usage, argc, argv, {"--case CASE"}, 2);
    Options options;
    for (const auto& [option, value] : line.options) {
        if (option == "--case") options.which = parse_case(program, value, usage);
        if (option == "--wait") {  // one limit for both waits: what a test or a slow machine needs
            options.client_wait_ms = options.bytes_wait_ms =
                static_cast<int>(std::ceil(parse_seconds(program, usage, option, value) * 1000));
        }
    }
    if (line.positional.size() > 0) options.host = line.positional[0];
    if (line.positional.size() > 1) options.port = parse_port(program, line.positional[1], server, usage);  // 0: server
    return options;
}

// ---- bounded waits: every wait has a bound, and one that runs out says why -------------------
// Waits until fd is readable (a connection to accept, a datagram) or timeout_ms passed:
// true if readable. A wall-clock deadline: a signal (EINTR) does not restart the wait.
inline bool wait_readable(int fd, int timeout_ms) {
    pollfd readable{fd, POLLIN, 0};
    const long long deadline = now_ms() + timeout_ms;
    for (long long left = timeout_ms; left > 0; left = deadline - now_ms()) {
        const int ready = ::poll(&readable, 1, static_cast<int>(left));
        if (ready != 0 && !(ready < 0 && errno == EINTR)) return true;  // an error: the next call reports it
    }
    return false;
}

// Does fd report `event` right now (a poll that does not wait)?
inline bool polls_now(int fd, short event) {
    pollfd now{fd, event, 0};
    int ready;
    do {
        ready = ::poll(&now, 1, 0);
    } while (ready < 0 && errno == EINTR);
    return ready > 0 && (now.revents & event);
}

// The server's accept() waits at most timeout_ms for a client; none: one line and exit status 1.
inline void wait_for_client(int listener, int timeout_ms) {
    if (wait_readable(listener, timeout_ms)) return;
    std::fprintf(stderr, "server: no client connected within %g s (a --case udp client sends datagrams, which "
                         "this TCP server never sees: give both programs the same --case)\n",
                 timeout_ms / 1000.0);
    std::exit(1);
}

// Before the tutorial's recv calls: be a late receiver on purpose, without guessing how late.
// Waits (poll + SO_RCVLOWAT, at most timeout_ms, see time_limits.h) until `count` bytes are
// queued or the client closed, then says how many are queued (ioctl FIONREAD). A wait that
// ends with fewer ends the server with one line saying why, and exit status 1:
//   - urgent data: a byte sent with MSG_OOB marks the stream, and FIONREAD counts (like recv()
//     reads) only up to that mark, so the count stops short although the bytes have all come;
//   - the client is slow, or sent fewer and stays connected: the wait ran out.
// Fewer bytes and the client closed is no error: the recv calls show what came.
inline void wait_until_queued(int fd, int count, int timeout_ms) {
    std::printf("waiting until %d bytes are queued or the client closes (poll + SO_RCVLOWAT, at most %g s)\n",
                count, timeout_ms / 1000.0);
    std::fflush(stdout);
    const int queued = wait_for_bytes(fd, count, timeout_ms);
    if (queued < 0) die("server: wait");
    if (queued < count && polls_now(fd, POLLPRI)) {  // POLLPRI: urgent data is waiting
        std::fprintf(stderr, "server: urgent (MSG_OOB) data stopped the count at %d of %d bytes: the client "
                             "sent an urgent byte, and ioctl FIONREAD (like recv) stops at its mark\n",
                     queued, count);
        std::exit(1);
    }
    if (queued < count && !polls_now(fd, POLLRDHUP)) {  // POLLRDHUP: the client closed (or reset)
        std::fprintf(stderr, "server: the %g s wait ran out with %d of %d bytes queued: the client is slow, or "
                             "sent fewer and stays connected\n",
                     timeout_ms / 1000.0, queued, count);
        std::exit(1);
    }
    std::printf(queued < count ? "only %d bytes queued, and the client has closed (ioctl FIONREAD)\n"
                               : "%d bytes queued (ioctl FIONREAD)\n",
                queued);
    std::fflush(stdout);
}

// "listening on 127.0.0.1:8000 (tcp)": the ready line, with the port really bound (port 0).
inline void print_listening(int fd, const char* protocol) {
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s (%s)\n", to_string(bound).c_str(), protocol);
    std::fflush(stdout);
}

// ---- the wire, beyond the tutorial: how many TCP segments carried the bytes ----------------
// TCP_INFO asks the kernel what it knows about one connection. tcpi_data_segs_out / _in count
// the segments that carried data, sent / received (Linux 4.6 and later; glibc's struct
// tcp_info stops before them, hence <linux/tcp.h>). Returns 1, or 0 when this kernel filled a
// shorter struct (before 4.6: no counts), or -1 with errno set.
inline int read_tcp_info(int fd, tcp_info& info) {
    info = {};
    socklen_t filled = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &filled) < 0) return -1;
    return filled >= offsetof(tcp_info, tcpi_data_segs_out) + sizeof info.tcpi_data_segs_out ? 1 : 0;
}
constexpr const char* kNoSegmentCount =
    "(data segments not counted: this kernel's TCP_INFO has no tcpi_data_segs_in/out, Linux 4.6 or later has them)";

inline const char* plural(unsigned long count) { return count == 1 ? "" : "s"; }
