// deadlines.h — every wait of lesson 07's server: each one bounded in time, and each one ended by
// a stop signal. The server serves one client at a time, so no client (and no log reader) may
// hold it: a silent or dripping client is dropped, and SIGINT, SIGTERM or any other stop signal
// (stop_signals.h) stops it between two steps, the upload in progress removed.
//
// How a stop signal gets in: the stop signals are blocked and read as data from a signalfd that
// every wait watches beside its own descriptor (poll). A wait that sees one throws `Stop`, and on
// the way out to main() every destructor runs: ~TempFile removes the half-written file.
// Why not the classic handler that sets a flag and the EINTR it causes (UNP ch. 5, TLPI ch. 21)?
// A signal that lands after the flag was checked and before accept() or write() blocks is seen
// only when a client comes, or never (a full log pipe): the race ppoll()/signalfd exist for.
#pragma once

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "protocol.h"     // encode_frame, decode_frame_length
#include "socket_core.h"  // die
#include "stop_signals.h"

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// "mkostemp: No space left on device": what a client is told, and the log says, when a call failed.
inline std::string errno_text(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// A stop signal arrived, e.g. Stop{SIGTERM}: thrown out of whatever wait the server is in.
struct Stop {
    int signal;
    std::string name() const { return std::string("SIG") + ::sigabbrev_np(signal); }  // "SIGTERM"
};

inline int stop_signals = -1;  // the signalfd every wait watches (set once, at the start)

// From now on the stop signals arrive only as data on `stop_signals`, never in the middle of code.
inline void block_stop_signals() {
    const sigset_t stop = stop_signal_set();
    if (::sigprocmask(SIG_BLOCK, &stop, nullptr) < 0) die("server: sigprocmask");
    stop_signals = ::signalfd(-1, &stop, SFD_CLOEXEC);
    if (stop_signals < 0) die("server: signalfd");
}

// The server's only way to wait: poll() on `fd` and on the signalfd, for at most timeout_ms
// (-1: no limit). Returns true when `fd` is ready; false when time is up (errno ETIMEDOUT) or
// poll fails. A stop signal: throws Stop.
inline bool wait_ready(int fd, short events, int timeout_ms) {
    pollfd fds[2] = {{fd, events, 0}, {stop_signals, POLLIN, 0}};
    int ready;
    do {
        ready = ::poll(fds, 2, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return false;
    if (fds[1].revents & POLLIN) {
        signalfd_siginfo info{};
        const bool got = ::read(stop_signals, &info, sizeof info) == sizeof info;
        throw Stop{got ? static_cast<int>(info.ssi_signo) : SIGTERM};
    }
    if (ready == 0) errno = ETIMEDOUT;
    return ready > 0;
}

// Until a client is waiting to be accepted (no limit: a server waits for clients), or a stop signal.
inline void wait_for_client(int listener) { wait_ready(listener, POLLIN, -1); }

// One line of the log on stdout. Its reader may hang and leave the pipe full: a plain write()
// would then sleep for good, deaf to the (blocked) stop signals. So the wait for room is a wait
// like the others, and the line goes in pieces of at most PIPE_BUF, which a pipe takes whole once
// poll() said POLLOUT. A reader that went away (EPIPE: SIGPIPE is ignored) or a full disk: the
// line is lost and the server goes on.
inline void log_line(const std::string& line) {
    const std::string text = line + "\n";
    for (std::size_t done = 0; done < text.size();) {
        if (!wait_ready(STDOUT_FILENO, POLLOUT, -1)) return;
        const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, std::min<std::size_t>(PIPE_BUF, text.size() - done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// The last line, on the way out after a stop signal: written only if stdout has room right now.
inline void log_last_line(const std::string& line) {
    const std::string text = line + "\n";
    pollfd out{STDOUT_FILENO, POLLOUT, 0};
    if (::poll(&out, 1, 0) == 1 && (out.revents & POLLOUT) && text.size() <= PIPE_BUF)
        (void)!::write(STDOUT_FILENO, text.data(), text.size());  // nothing more to do if it fails
}

inline std::string seconds_text(milliseconds time) {  // 1500 ms -> "1.5 s"
    char text[32];
    std::snprintf(text, sizeof text, "%g s", static_cast<double>(time.count()) / 1000);
    return text;
}

// One client's connection, with its bounds: every wait ends after `idle` with nothing moving,
// and all of them by `deadline` (then `error` = `late`). recv/send are called only once poll()
// said they will not block, so the bounds hold for each call and for the upload as a whole.
struct Connection {
    int fd;
    milliseconds idle;
    Clock::time_point deadline = Clock::time_point::max();
    std::string late;   // what to say when the deadline passes
    std::string error;  // why the last call failed

    Connection(int connected, milliseconds idle_limit) : fd(connected), idle(idle_limit) {}
    bool wait(short events) {
        const auto now = Clock::now();
        const bool by_deadline = deadline < now + idle;
        const auto left = std::chrono::ceil<milliseconds>(by_deadline ? deadline - now : Clock::duration(idle));
        if (wait_ready(fd, events, static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX)))) return true;
        if (errno != ETIMEDOUT) error = errno_text("poll");
        else if (by_deadline) error = late;
        else error = (events == POLLIN ? "nothing received for " : "the client read nothing for ") + seconds_text(idle);
        return false;
    }
    // > 0 bytes, 0 at the end of the stream, -1 when time is up or recv() failed (`error` says which).
    ssize_t recv_some(char* data, std::size_t size) {
        for (;;) {
            if (!wait(POLLIN)) return -1;
            ssize_t received;
            do {  // EINTR: restart the call itself (going back to poll() could meet the next EINTR)
                received = ::recv(fd, data, size, MSG_DONTWAIT);
            } while (received < 0 && errno == EINTR);
            if (received >= 0) return received;
            if (errno != EAGAIN) {
                error = errno_text("recv");
                return -1;
            }
        }
    }
    // Exactly `size` bytes (socket_core.h's recv_exact, with the bounds); `closed`: what to say at an early end.
    bool recv_all(char* data, std::size_t size, const char* closed) {
        for (std::size_t got = 0; got < size;) {
            const ssize_t received = recv_some(data + got, size - got);
            if (received == 0) error = closed;
            if (received <= 0) return false;
            got += static_cast<std::size_t>(received);
        }
        return true;
    }
    bool recv_frame(std::size_t limit, std::string& body) {  // the length is checked before anything is allocated
        char prefix[4];
        if (!recv_all(prefix, sizeof prefix, "connection closed before a frame")) return false;
        const auto length = decode_frame_length(prefix, limit, error);
        if (!length) return false;
        body.assign(*length, '\0');
        return recv_all(body.data(), *length, "connection closed inside a frame");
    }
    bool send_frame(const std::string& body) {  // a client that does not read is dropped after `idle`
        const std::string frame = encode_frame(body);
        for (std::size_t sent = 0; sent < frame.size();) {
            if (!wait(POLLOUT)) return false;
            ssize_t n;
            do {
                n = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            } while (n < 0 && errno == EINTR);
            if (n < 0 && errno != EAGAIN) {
                error = errno_text("send");
                return false;
            }
            if (n > 0) sent += static_cast<std::size_t>(n);
        }
        return true;
    }
};
