// reply_wait.h — what lesson 04's client adds before its one recv(1024): a bounded wait until the
// reply has begun, then until it fills that recv (or half a second passes). Not a socket call of
// the tutorial's: it only makes the tutorial's mix-up the same every time (README).
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cmath>

#include "socket_core.h"  // die
#include "time_limits.h"  // wait_for_bytes: SO_RCVLOWAT + poll, no sleep

constexpr int kFillMs = 500;  // once a reply has begun, how long it may take to reach a full recv

// True once the reply has begun and `size` bytes are queued, or kFillMs passed since it began.
// False if no byte came within `wait_ms`: the command printed nothing, so the server sent 0
// bytes, and a plain recv() would wait forever (TCP has no empty message).
inline bool wait_for_reply(int fd, int wait_ms, int size) {
    if (wait_for_bytes(fd, 1, wait_ms) < 0) die("client: wait");
    char first;
    ssize_t peeked;
    do {
        peeked = ::recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
    } while (peeked < 0 && errno == EINTR);
    if (peeked < 0 && errno == EAGAIN) return false;
    if (wait_for_bytes(fd, size, kFillMs) < 0) die("client: wait");
    return true;  // peeked == 0 (the server closed) or an error: the recv that follows says which
}
