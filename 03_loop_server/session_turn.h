// session_turn.h — lesson 03's iterative server gives each client a TURN: at most --turn
// seconds of wall-clock time from accept to close, however the client spends them. Not needed to
// follow the tutorial's calls; server.cpp calls it in one line before each recv and for each send.
//
// Why a turn, not a silence limit per call: while the server talks to one client, the next ones
// wait in the listen queue (tutorial 001: "一次只能有一个客户端在运行"). SO_RCVTIMEO alone restarts
// with every recv, so a client that drips one byte a second (each byte is a message here, echoed
// at once) would hold the server for ever. A turn ends, drip or no drip, and the next client is
// served. Each recv and send waits at most what is left of the turn, so the bound is wall-clock.
#pragma once

#include <string>

#include "socket_core.h"
#include "time_limits.h"
#include "helpers.h"  // send_failure

class Turn {
public:
    explicit Turn(double seconds)
        : seconds_(seconds), deadline_ms_(now_ms() + static_cast<long long>(seconds * 1000)) {}

    // Before each recv (and each send): SO_RCVTIMEO and SO_SNDTIMEO = what is left of the turn, so
    // that the call fails with EAGAIN when the turn is over. Nothing left: false with errno EAGAIN,
    // as that call would have failed.
    bool bound_next_call(int fd) {
        const long long left_ms = deadline_ms_ - now_ms();
        if (left_ms <= 0) {
            errno = EAGAIN;
            return false;
        }
        setsockopt_failed_ = !set_silence_limit(fd, static_cast<double>(left_ms) / 1000);
        return !setsockopt_failed_;
    }

    // socket_core.h's send_all within the turn: every send waits at most what is left of it.
    bool send_all(int fd, const std::string& bytes) {
        ++sends_;
        stalled_ = false;
        for (std::size_t done = 0; done < bytes.size();) {
            if (!bound_next_call(fd)) {
                stalled_ = done > 0;  // the turn ran out in the middle of this reply
                return false;
            }
            const ssize_t sent = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (sent < 0 && errno == EINTR) continue;
            if (sent < 0) {
                stalled_ = true;  // EAGAIN: it waited until the turn was over
                return false;
            }
            done += static_cast<std::size_t>(sent);
        }
        return true;
    }

    // Why the session ended after recv returned `received` (0, or -1 with errno set), for the log:
    // 0 is the client's close (002 §1 例1修改后: `if len(data) == 0: break`, Linux), ECONNRESET its
    // reset (the tutorial's ConnectionResetError, Windows), EAGAIN the end of its turn.
    std::string why_recv_ended(ssize_t received) const {
        if (received == 0) return "recv returned 0";
        if (setsockopt_failed_) return std::string("setsockopt: ") + std::strerror(errno);
        if (errno == ECONNRESET) return "connection reset";
        if (errno != EAGAIN) return std::string("recv: ") + std::strerror(errno);
        // Every message is answered before the next recv: one send so far (the greeting) means
        // the client has sent nothing at all.
        return dropped(sends_ <= 1 ? "sent nothing for" : "its turn is over after");
    }

    // Why the session ended after send_all failed. EAGAIN: the turn was over, either while a reply
    // waited for room (the client left its replies unread, and the kernel's buffers on both sides
    // filled) or before the reply began (say a drip's last byte came just before the end).
    std::string why_send_failed() const {
        if (setsockopt_failed_) return std::string("setsockopt: ") + std::strerror(errno);
        if (errno != EAGAIN) return send_failure();
        return dropped(stalled_ ? "read nothing for" : "its turn is over after");
    }

private:
    std::string dropped(const char* what) const {  // "dropped: sent nothing for 300 s, --turn"
        char text[96];
        std::snprintf(text, sizeof text, "dropped: %s %g s, --turn", what, seconds_);
        return text;
    }

    double seconds_;
    long long deadline_ms_;
    int sends_ = 0;                   // send_all calls: the greeting, then one per message
    bool setsockopt_failed_ = false;  // then errno is setsockopt's, not the socket call's
    bool stalled_ = false;            // the last send_all failed waiting for room, not before it began
};
