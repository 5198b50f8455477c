// client_cap.h — how many clients lesson 03's threaded server serves at once (--max-clients), and
// what the one over the cap is told. Not needed to follow the tutorial's calls.
//
// Why a cap: socketserver.ThreadingTCPServer starts a thread for every connection, with no bound.
// So does a plain one-thread-per-client server: 1,000 clients that each drip a byte a second held
// 1,001 threads and 176 MiB. With the cap, the client over it gets one line (no newline, like
// every message of this protocol) and is closed at once, so it knows it was not served; the
// server logs the first refusal of a burst only (a burst ends when a served client leaves).
#pragma once

#include <sys/socket.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "helpers.h"  // log_line

class ClientCap {
public:
    explicit ClientCap(std::size_t most) : most_(most) {}

    // A place for one more client; false if all `most` are taken.
    bool take_place() {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (served_ == most_) return false;
        ++served_;
        return true;
    }

    // A served client has left (its thread ends): its place is free, and a burst of refusals is over.
    void give_back_place() {
        const std::lock_guard<std::mutex> lock(mutex_);
        --served_;
        refusing_ = false;
    }

    // Tells the client over the cap why it is closed, without waiting: the socket is new, so its
    // send buffer is empty, and a line this short always fits. The caller then closes it.
    void refuse(int fd, const std::string& peer) {
        char text[128];
        std::snprintf(text, sizeof text, "busy: %zu clients served already (--max-clients %zu), try again later",
                      most_, most_);
        (void)::send(fd, text, std::strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);  // gone already: nothing to tell
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            if (refusing_) return;
            refusing_ = true;
        }
        log_line("refusing clients: all " + std::to_string(most_) + " places taken (--max-clients " +
                 std::to_string(most_) + "), first " + peer + "; said once until a client leaves");
    }

private:
    std::mutex mutex_;
    const std::size_t most_;
    std::size_t served_ = 0;
    bool refusing_ = false;  // this burst's refusal is logged already
};
