// message_io.h — lesson 06's messages over a socket: one whole framed message in or out, with
// bounds, and a Status that says how it went. framing.h says what the bytes mean; this file moves
// them: the loops over partial recv/send (UNP's readn/writen), a body that grows only with the
// bytes that really arrive, and the silence limit (time_limits.h) told apart from other failures.
// The conversation itself (who sends the length, who answers recv_ready) is in server.cpp/client.cpp.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "framing.h"
#include "quoted.h"
#include "socket_core.h"  // send_all

namespace message_io {

// How a receive or a send ended. It is all in the Status: no errno to inspect afterwards.
enum class Outcome {
    ok,
    ended,   // the peer closed cleanly BETWEEN messages (before the first byte of one)
    silent,  // the silence limit ran out (SO_RCVTIMEO/SO_SNDTIMEO: recv or send failed with EAGAIN)
    failed   // anything else: a broken frame, a reset, no memory ...
};
struct Status {
    Outcome outcome = Outcome::ok;
    std::string error;          // what went wrong (silent, failed)
    std::uint64_t arrived = 0;  // bytes of this message received so far: "sent nothing" only if 0
    bool closed_early = false;  // failed because the peer closed in the middle of the message
    bool ok() const { return outcome == Outcome::ok; }
};
inline Status failed(std::string error, std::uint64_t arrived) { return {Outcome::failed, std::move(error), arrived}; }
inline Status call_failed(const char* call, std::uint64_t arrived) {  // right after the call, errno still its
    const Outcome outcome = errno == EAGAIN || errno == EWOULDBLOCK ? Outcome::silent : Outcome::failed;
    return {outcome, std::string(call) + ": " + std::strerror(errno), arrived};
}

struct Received {  // a message's body, and how receiving it went
    std::string body;
    Status status;
};

// Exactly `size` more bytes of `what` appended to `out`; `arrived` counts this message's bytes so far.
// The buffer grows with the bytes that arrive (64 KiB at a time), never to the announced size up
// front: a header announcing 4 GiB and no body costs 64 KiB, not 4 GiB of zeroes. Memory running
// out (std::bad_alloc, e.g. under `ulimit -v`) fails this message, never the program.
inline Status recv_body(int fd, std::uint64_t size, std::string& out, const char* what, std::uint64_t arrived) {
    char chunk[65536];
    for (std::uint64_t got = 0; got < size;) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof chunk, size - got));
        const ssize_t received = ::recv(fd, chunk, want, 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) return call_failed("recv", arrived);
        if (received == 0 && arrived == 0) return {Outcome::ended, "", 0};
        if (received == 0) {
            Status truncated = failed("truncated " + std::string(what) + ": got " + std::to_string(got) + " of " +
                                      std::to_string(size) + " bytes", arrived);
            truncated.closed_early = true;
            return truncated;
        }
        try {
            out.append(chunk, static_cast<std::size_t>(received));
        } catch (const std::bad_alloc&) {
            out = std::string();  // give the memory back
            return failed("out of memory after " + std::to_string(got) + " bytes of a " + what + " of " +
                              std::to_string(size) + " bytes", arrived);
        }
        got += static_cast<std::uint64_t>(received);
        arrived += static_cast<std::uint64_t>(received);
    }
    return {Outcome::ok, "", arrived};
}

// fixed: the 4-byte header (head_pack = sk.recv(4)), then the body it announces. The json
// scheme's JSON header travels in one of these too.
inline Received recv_fixed_message(int fd, std::uint64_t limit, const char* what) {
    Received r;
    std::string header;
    r.status = recv_body(fd, framing::kFixedHeaderSize, header, "header", 0);
    if (!r.status.ok()) return r;
    const framing::Length length = framing::decode_fixed_header(header, limit, what);
    if (!length.error.empty()) return {"", failed(length.error, r.status.arrived)};
    r.status = recv_body(fd, length.value, r.body, what, r.status.arrived);
    return r;
}

// "recv_ready" (tutorial 002 §4.2 解决方案1: data=conn.recv(1024); if data == 'recv_ready':), exactly.
inline Status recv_ready(int fd) {
    std::string answer;
    Status status = recv_body(fd, framing::kRecvReady.size(), answer, "recv_ready", 0);
    if (status.outcome == Outcome::ended) return failed("the peer closed instead of saying \"recv_ready\"", 0);
    if (status.ok() && answer != framing::kRecvReady) {
        return failed("expected \"recv_ready\", got " + ::quoted(answer), 0);
    }
    return status;
}

// ack, receiving: the length line one byte at a time (at most 21 bytes, and the sender waits for
// recv_ready, so nothing of the body can be in the way), "recv_ready", then exactly that many bytes.
inline Received recv_ack_message(int fd, std::uint64_t limit) {
    std::string line;
    while (line.size() <= framing::kMaxAckDigits && (line.empty() || line.back() != '\n')) {
        const Status got = recv_body(fd, 1, line, "length line", line.size());
        if (got.closed_early) {  // the line began, then the peer closed: say what came of it
            return {"", failed("truncated length line " + ::quoted(line, 40), line.size())};
        }
        if (!got.ok()) return {"", got};
    }
    const framing::Length length = framing::decode_ack_length(line, limit);
    if (!length.error.empty()) return {"", failed(length.error, line.size())};
    Received r;
    r.status.arrived = line.size();
    if (length.value == 0) return r;  // nothing to get ready for (see the sender)
    if (!send_all(fd, framing::kRecvReady.data(), framing::kRecvReady.size())) {
        return {"", call_failed("send", line.size())};
    }
    r.status = recv_body(fd, length.value, r.body, "message", line.size());
    return r;
}

// Python's sendall() for a header and the body pieces behind it, all in ONE sendmsg() (writev):
// the kernel gets them together, so Nagle never holds a small second piece back (README).
// Loops over partial sends, restarts on EINTR; MSG_NOSIGNAL: a vanished peer is EPIPE, not SIGPIPE.
inline Status send_pieces(int fd, std::string_view header, const std::vector<std::string_view>& body) {
    std::vector<iovec> iov{{const_cast<char*>(header.data()), header.size()}};
    for (const std::string_view piece : body) iov.push_back({const_cast<char*>(piece.data()), piece.size()});
    std::size_t first = 0;  // the first piece not wholly sent yet
    while (first < iov.size()) {
        msghdr message{};
        message.msg_iov = &iov[first];
        message.msg_iovlen = iov.size() - first;
        const ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) return call_failed("send", 0);
        auto left = static_cast<std::size_t>(sent);  // skip what went out, maybe half a piece
        while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (left > 0) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    return {};
}

// A header and its body in one write; --two-sends (a measurement switch of both programs) writes
// the header in a send() of its own first, like the tutorial's conn.send(header_back);
// conn.send(out), so the benchmark can show what that costs.
inline Status send_frame(int fd, std::string_view header, const std::vector<std::string_view>& body, bool two_sends) {
    if (!two_sends) return send_pieces(fd, header, body);
    if (!send_all(fd, header.data(), header.size())) return call_failed("send", 0);
    return send_pieces(fd, {}, body);
}

inline std::uint64_t total_size(const std::vector<std::string_view>& pieces) {
    std::uint64_t size = 0;
    for (const std::string_view piece : pieces) size += piece.size();
    return size;
}

// fixed, sending: struct.pack('!I', len(data)), then the data.
inline Status send_fixed_message(int fd, const std::vector<std::string_view>& body, bool two_sends) {
    const std::uint64_t size = total_size(body);
    if (size > framing::kHighestMaxBytes) return failed(framing::too_long("message", size, framing::kHighestMaxBytes), 0);
    return send_frame(fd, framing::encode_fixed_header(static_cast<std::uint32_t>(size)), body, two_sends);
}

// json, sending: [4-byte length][JSON header][bodies...] (000 end of §四, 004 end).
inline Status send_json_message(int fd, const std::string& json_header, const std::vector<std::string_view>& bodies,
                                bool two_sends) {
    std::vector<std::string_view> body{json_header};
    body.insert(body.end(), bodies.begin(), bodies.end());
    return send_frame(fd, framing::encode_fixed_header(static_cast<std::uint32_t>(json_header.size())), body, two_sends);
}

// ack, sending: the length, wait for "recv_ready", then the data (one extra round trip).
// "0\n" needs no recv_ready: there is nothing to send. The handshake would also make the
// receiver write twice in a row (recv_ready, then its next message), and Nagle holds the
// second small write until the first is ACKed: a 40 ms delayed-ACK stall (README).
inline Status send_ack_message(int fd, const std::vector<std::string_view>& body) {
    const std::uint64_t size = total_size(body);
    const std::string length = framing::encode_ack_length(size);
    if (!send_all(fd, length.data(), length.size())) return call_failed("send", 0);
    if (size == 0) return {};
    if (Status ready = recv_ready(fd); !ready.ok()) return ready;
    return send_pieces(fd, {}, body);
}

}  // namespace message_io
