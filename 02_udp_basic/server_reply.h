// server_reply.h — lesson 02's client: wait a bounded time for a reply, and take it only from the server.
//
// UDP has no connection (003 §二.4: "UDP是面向无连接的"): any program may send a datagram to the
// client's port, and recvfrom returns whatever comes first. So the client compares recvfrom's
// address with the server's, as UNP §8.8 "Verifying Received Response" does, and a datagram from
// anyone else is named and ignored. (A connect() on the UDP socket would make the kernel drop them
// instead: it fixes the peer, it does not make a connection.)
// A lost datagram is never resent (003 §一.3: 数据错了就错了,无法重传), so a plain recvfrom could
// wait forever: each reply has a deadline, and a stranger's datagram does not move it.
// Not needed to follow the tutorial's calls.
#pragma once

#include <sys/time.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>

#include "socket_core.h"

inline long long now_us() {  // a clock that never jumps: for deadlines
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000LL + now.tv_nsec / 1000;
}

inline long long deadline_after(double seconds) { return now_us() + static_cast<long long>(seconds * 1e6); }

// SO_RCVTIMEO set to what is left until `deadline`, so the next recvfrom fails with EAGAIN
// when it passes. False when nothing is left (a timeval of 0 would mean "wait forever").
inline bool wait_no_later_than(int fd, long long deadline) {
    const long long left = deadline - now_us();
    if (left <= 0) return false;
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(left / 1000000);
    limit.tv_usec = static_cast<suseconds_t>(left % 1000000);
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) < 0) die("client: setsockopt");
    return true;
}

[[noreturn]] inline void no_reply_within(double timeout) {
    std::fprintf(stderr, "client: recvfrom: no reply within %g s "
                 "(UDP does not resend lost datagrams; is the server running?)\n", timeout);
    std::exit(1);
}

// The server's reply comes from the address we sent to: same IPv4 address, same port.
inline bool from_the_server(const sockaddr_in& from, const sockaddr_in& server) {
    return from.sin_addr.s_addr == server.sin_addr.s_addr && from.sin_port == server.sin_port;
}

// `recvfrom -> 8 bytes from 127.0.0.1:45544: not the server (127.0.0.1:9939), ignored`.
// Its bytes are not shown: they are not a reply, and nothing of them should pass for one.
inline void print_ignored(std::size_t size, const sockaddr_in& from, const sockaddr_in& server) {
    std::printf("recvfrom -> %zu bytes from %s: not the server (%s), ignored\n", size, to_string(from).c_str(),
                to_string(server).c_str());
    std::fflush(stdout);
}
