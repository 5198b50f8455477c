// helpers.h — what lesson 05's server.cpp and client.cpp share beyond socket_core.h:
// the four experiments, the command line that picks one, bounded waits, and TCP_INFO.
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

// After a wait that brought fewer bytes than asked: has the peer closed (end of stream, or a
// reset)? POLLRDHUP says so at once, even with bytes still queued.
inline bool peer_closed(int fd) {
    pollfd closed{fd, POLLRDHUP, 0};
    int ready;
    do {
        ready = ::poll(&closed, 1, 0);
    } while (ready < 0 && errno == EINTR);
    return ready > 0;
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
