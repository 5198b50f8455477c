// give_up.h — lesson 01's client: a server silent longer than --wait is given up on.
//
// The tutorial's client calls recv() and waits as long as it takes: a server that accepts and
// never answers (or never closes) hangs it for good. Every wait has a bound: after connect, a
// silence limit (time_limits.h, SO_RCVTIMEO/SO_SNDTIMEO) makes a recv or send that gets nowhere
// for `wait` seconds fail with EAGAIN, and die_or_give_up says which of the two happened.
// Not needed to follow the tutorial's calls.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "socket_core.h"
#include "time_limits.h"

// After connect: silence of more than `wait` seconds in a recv or send ends in EAGAIN.
inline void limit_silence(int fd, double wait) {
    if (!set_silence_limit(fd, wait)) die("client: setsockopt");
}

// A send or recv that failed: its own error, as die() says it ("client: recv: Connection reset
// by peer"), or, when the limit ran out (EAGAIN),
// "client: the server did not answer for 30 s (--wait 30): giving up". Exit status 1 either way.
[[noreturn]] inline void die_or_give_up(const char* what, double wait) {
    if (errno != EAGAIN) die(what);
    std::fprintf(stderr, "client: %s\n", silence_or("", wait).c_str());
    std::exit(1);
}
