// accept_backoff.h — what a server's accept loop does when accept() fails, so that running out
// of descriptors pauses instead of spinning. The accept call itself stays in the lesson.
//
// A COPY, kept byte-identical in every lesson folder that uses it, so that each folder builds alone.
// The original is 03_loop_server/accept_backoff.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "time_limits.h"  // now_ms

// Every server's accept loop, the accept call itself in the lesson:
//     Fd conn{::accept4(listener.fd, ..., SOCK_CLOEXEC)};
//     if (conn.fd < 0) {
//         accept_failed("server");  // logs it; out of descriptors or memory: pauses 100 ms
//         continue;
//     }
// A client that gave up while queued (ECONNABORTED) is logged and the loop goes on at once.
// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) is different: the connection
// stays queued, so the very next accept() fails the same way, and a loop that retries at once
// spins at 100 % CPU writing the same line to the log, megabytes a second. So: one log line
// per burst (a burst ends after a second without this failure), and a 100 ms pause before the
// next try. A plain pause, not poll() on the listener: the listener is readable all along (the
// queued connection is still there). The queued clients are served once a descriptor is free.
inline void accept_failed(const char* program) {
    const int error = errno;
    if (error == EINTR) return;  // a signal: just call accept() again
    if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) {
        std::fprintf(stderr, "%s: accept: %s\n", program, std::strerror(error));
        return;
    }
    static long long last_failure_ms = -1000000;  // the previous out-of-resources failure
    if (now_ms() - last_failure_ms > 1000) {
        std::fprintf(stderr, "%s: accept: %s (retrying every 100 ms; said once per burst)\n", program,
                     std::strerror(error));
    }
    ::poll(nullptr, 0, 100);  // waits 100 ms (or less, if a signal comes)
    last_failure_ms = now_ms();
}
