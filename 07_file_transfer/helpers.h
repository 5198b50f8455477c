// helpers.h — what lesson 07's server.cpp and client.cpp share beyond socket_core.h:
// whole writes, the temporary file of an upload, and one frame out or in.
// The protocol itself, with no socket call, is in protocol.h.
#pragma once

#include <string>

#include "protocol.h"  // encode_frame, decode_frame_length
#include "socket_core.h"

// write() may also write less than asked (e.g. just up to a file size limit): loop.
inline bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

// The temporary file of one upload: removed when we leave, whatever happened,
// unless it was renamed into place (then `path` is cleared).
struct TempFile {
    std::string path;
    Fd file{-1};
    ~TempFile() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

// Send one frame (protocol.h's encode_frame): length and body in one send_all,
// so they leave together instead of as two small segments.
inline bool send_frame(int fd, const std::string& body) {
    const std::string frame = encode_frame(body);
    return send_all(fd, frame.data(), frame.size());
}

// Receive one frame of at most `limit` bytes into `body`; on failure `error`
// says what went wrong. The length is checked BEFORE anything is allocated.
inline bool recv_frame(int fd, std::size_t limit, std::string& body, std::string& error) {
    char prefix[4];
    const ssize_t got = recv_exact(fd, prefix, sizeof prefix);
    if (got != sizeof prefix) {
        error = got < 0 ? std::string("recv: ") + std::strerror(errno) : "connection closed before a frame";
        return false;
    }
    const auto length = decode_frame_length(prefix, limit, error);
    if (!length) return false;
    body.assign(*length, '\0');
    const ssize_t got_body = recv_exact(fd, body.data(), *length);
    if (got_body != static_cast<ssize_t>(*length)) {
        error = got_body < 0 ? std::string("recv: ") + std::strerror(errno) : "connection closed inside a frame";
        return false;
    }
    return true;
}
