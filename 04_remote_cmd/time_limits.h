// time_limits.h — every wait has a bound: a monotonic clock for deadlines, a silence limit on
// a socket (SO_RCVTIMEO/SO_SNDTIMEO) and the one sentence a client says when it runs out, and a
// wait until a number of bytes is queued (lesson 05). Not needed to follow the tutorial's calls.
//
// A COPY, kept byte-identical in every lesson folder that uses it, so that each folder builds alone.
// The original is 01_tcp_basic/time_limits.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <string>

inline long long now_ms() {  // a clock that never jumps: for deadlines
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

// SO_RCVTIMEO and SO_SNDTIMEO: a recv() that gets nothing, or a send() that can hand the
// kernel nothing, for `seconds` fails with EAGAIN instead of waiting forever. It bounds
// silence, one call at a time, not a whole exchange: a peer that trickles bytes is not stopped.
inline bool set_silence_limit(int fd, double seconds) {
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(seconds);
    limit.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(limit.tv_sec)) * 1e6);
    return ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0 &&
           ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == 0;
}

// What a client says when a recv or send under that limit (its --wait SECONDS) failed: errno
// EAGAIN means the limit ran out, "the server did not answer for 2 s (--wait 2): giving up";
// any other errno leaves `failure`, the call's own error ("recv: Connection reset by peer").
inline std::string silence_or(const std::string& failure, double seconds) {
    if (errno != EAGAIN) return failure;
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);  // %g: "30", "0.5", not "30.000000"
    return std::string("the server did not answer for ") + text + " s (--wait " + text + "): giving up";
}

// Waits until `count` bytes are queued, the peer closed, or timeout_ms passed; returns how many
// are queued then (FIONREAD). No sleep: SO_RCVLOWAT makes poll() wake only at `count` bytes.
inline int wait_for_bytes(int fd, int count, int timeout_ms) {
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &count, sizeof count) < 0) return -1;
    pollfd readable{fd, POLLIN, 0};
    const long long deadline = now_ms() + timeout_ms;
    for (long long left = timeout_ms; left > 0; left = deadline - now_ms()) {
        const int ready = ::poll(&readable, 1, static_cast<int>(left));
        if (ready > 0 || (ready < 0 && errno != EINTR)) break;
    }
    const int one = 1;  // back to normal, so the next recv() returns whatever is there
    int queued = 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one) < 0 || ::ioctl(fd, FIONREAD, &queued) < 0) {
        return -1;
    }
    return queued;
}
