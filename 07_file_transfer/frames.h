// frames.h — the client's conversation with the server over a blocking socket: one frame out,
// one frame in, and the server's replies read with suspicion (a flat JSON object, quoted when
// shown). The client's waits are bounded by its --wait limit (time_limits.h). The protocol itself,
// with no socket call, is in protocol.h.
#pragma once

#include <string>

#include "protocol.h"  // encode_frame, decode_frame_length, parse_object
#include "quoted.h"
#include "socket_core.h"
#include "time_limits.h"  // silence_or

[[noreturn]] inline void fail(const std::string& problem) {
    std::fprintf(stderr, "client: %s\n", problem.c_str());
    std::exit(1);
}

// A server that goes silent (never answers, or stops reading what we send) must not hang us:
// set_silence_limit (in main) makes a recv or send that makes no progress for --wait seconds
// fail with EAGAIN, and silence_or says so. Any other failure is reported as it is.
[[noreturn]] inline void network_failure(const std::string& problem, double wait) { fail(silence_or(problem, wait)); }

// Send one frame (protocol.h's encode_frame): length and body in one send_all, so they leave
// together instead of as two small segments. Exits with the reason if it cannot.
inline void send_frame(int fd, const std::string& body, double wait) {
    const std::string frame = encode_frame(body);
    errno = 0;  // afterwards, EAGAIN can only come from the --wait limit
    if (!send_all(fd, frame.data(), frame.size())) network_failure(std::string("send: ") + std::strerror(errno), wait);
}

// Receive one frame of at most `limit` bytes into `body`; on failure `error` says what went
// wrong. The length is checked BEFORE anything is allocated.
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

// The server's reply: a flat JSON object, or a clear refusal. parse_object (protocol.h) stops
// at the first container nested deeper than a flat object, before building anything.
inline json recv_reply(int fd, double wait) {
    std::string frame, error;
    errno = 0;
    if (!recv_frame(fd, kMaxHeaderSize, frame, error)) network_failure(error, wait);
    json reply = parse_object(frame, error);
    if (reply.is_discarded()) {  // show its start, quoted: none of its bytes reaches the terminal raw
        const bool cut = frame.size() > 80;
        fail("the server's reply " + error + ": " + quoted(frame.substr(0, 80)) + (cut ? "..." : ""));
    }
    return reply;
}

// A missing or false field counts as "no".
inline bool says_true(const json& reply, const char* key) { return reply.is_object() && reply.contains(key) && reply[key] == true; }

// Printed re-encoded with every non-ASCII character as \uXXXX, so that no character the
// server chose (U+202E, C1 controls) can steer the terminal.
inline void print_reply(const json& reply) { std::printf("server: %s\n", reply.dump(-1, ' ', /*ensure_ascii=*/true).c_str()); }
