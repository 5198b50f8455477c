// framing.h — the heart of lesson 06: how a receiver knows where a message ends.
//
// TCP is a byte stream; one send() is not one recv() (lesson 05, tutorial 002 §4.1).
// The sender therefore says how many bytes follow, in one of three ways (tutorial 002 §4.2):
//   ack    解决方案1: the length as decimal text "1234\n"; the receiver answers "recv_ready";
//          then the data. Costs one extra round trip per message.
//   fixed  解决方案2: a 4-byte header, struct.pack('!I', n): unsigned, big-endian ("network
//          order"), then the data.
//   json   000 end of §四 / 004 end (用字典的方法来打包报头): a fixed 4-byte header giving the
//          length of a JSON header, the JSON header (sizes, exit code ...), then the bodies.
//
// The first half of this file (encode_*/decode_*) never touches a socket, so it can be
// unit-tested (framing_test.cpp) and fuzzed (harness/fuzz/). The second half is the
// socket side: send_all (one sendmsg for header + body) and socket_core.h's recv_exact.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <nlohmann/json.hpp>

#include "socket_core.h"  // recv_exact, quoted

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace framing {

enum class Scheme { ack, fixed, json };

inline bool parse_scheme(std::string_view text, Scheme& scheme) {
    if (text == "ack")
        scheme = Scheme::ack;
    else if (text == "fixed")
        scheme = Scheme::fixed;
    else if (text == "json")
        scheme = Scheme::json;
    else
        return false;
    return true;
}
inline const char* to_string(Scheme scheme) {
    return scheme == Scheme::ack ? "ack" : scheme == Scheme::fixed ? "fixed" : "json";
}

constexpr std::uint64_t kDefaultMaxBytes = 64ull << 20;    // 64 MiB: largest body we accept
constexpr std::uint64_t kHighestMaxBytes = 0xFFFFFFFFull;  // the most 4 bytes of '!I' can say
constexpr std::size_t kFixedHeaderSize = 4;                // struct.calcsize('!I')
constexpr std::size_t kMaxJsonHeaderSize = 64 * 1024;      // a JSON header is small; refuse more
constexpr std::size_t kMaxAckDigits = 20;                  // 18446744073709551615 has 20 digits
constexpr std::string_view kRecvReady = "recv_ready";      // tutorial 002 §4.2 解决方案1

// A decoded length, or why there is none (error empty = ok).
struct Length {
    std::uint64_t value = 0;
    std::string error;
};

inline std::string too_long(const char* what, std::uint64_t length, std::uint64_t limit) {
    return std::string(what) + " of " + std::to_string(length) + " bytes exceeds the limit of " +
           std::to_string(limit) + " bytes";
}

// ---- fixed: struct.pack('!I', n) ------------------------------------------------------------
// Shifts, not memcpy of an int: the byte order on the wire is big-endian whatever this CPU is.
inline std::string encode_fixed_header(std::uint32_t length) {
    return {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
            static_cast<char>(length)};
}

inline Length decode_fixed_header(std::string_view header, std::uint64_t limit, const char* what = "message") {
    if (header.size() != kFixedHeaderSize) {
        return {0, "truncated header: got " + std::to_string(header.size()) + " of 4 bytes"};
    }
    std::uint32_t length = 0;
    for (const char byte : header) length = (length << 8) | static_cast<unsigned char>(byte);
    if (length > limit) return {0, too_long(what, length, limit)};
    return {length, ""};
}

// ---- ack: str(len(data)).encode() + newline ---------------------------------------------------
// The tutorial sends bare digits and relies on the recv_ready round trip to keep them apart
// from the data; but even a short text may arrive in two recv()s, so we end it with '\n'.
inline std::string encode_ack_length(std::uint64_t length) {
    return std::to_string(length) + "\n";
}

// `line` is everything received up to and including the '\n'. Strict: 1-20 digits, no sign,
// no spaces, no leading zero (so every length has exactly one spelling).
inline Length decode_ack_length(std::string_view line, std::uint64_t limit) {
    const bool ended = !line.empty() && line.back() == '\n';
    const std::string_view digits = ended ? line.substr(0, line.size() - 1) : line;
    if (!ended && digits.size() <= kMaxAckDigits) {
        return {0, "length line " + quoted(line, 40) + " does not end with a newline"};
    }
    if (digits.empty() || digits.size() > kMaxAckDigits) {
        return {0, "length " + quoted(digits, 40) + " is not a number of 1-20 digits"};
    }
    std::uint64_t value = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return {0, "length " + quoted(digits, 40) + " is not a number"};
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (digit > limit || value > (limit - digit) / 10)
            return {0, "length " + std::string(digits) + " exceeds the limit of " + std::to_string(limit) + " bytes"};
        value = value * 10 + digit;
    }
    if (digits.size() > 1 && digits[0] == '0') {
        return {0, "length " + quoted(digits, 40) + " has a leading zero"};
    }
    return {value, ""};
}

// ---- json: the dict header (004: 用字典的方法来打包报头) ----------------------------------------
struct RequestHeader {  // client -> server: {"command_size": 7}, then the command
    std::uint64_t command_size = 0;
    bool operator==(const RequestHeader& o) const { return command_size == o.command_size; }
};
struct ReplyHeader {  // server -> client, then stdout and stderr, kept apart
    std::uint64_t stdout_size = 0;
    std::uint64_t stderr_size = 0;
    int exit_code = 0;       // -1 when the command did not exit by itself
    int signal = 0;          // the signal that ended it, 0 if none
    bool timed_out = false;  // the server killed it after --timeout seconds
    std::string error;       // the server refused (e.g. output over the limit); "" if none
    bool operator==(const ReplyHeader& o) const {
        return stdout_size == o.stdout_size && stderr_size == o.stderr_size && exit_code == o.exit_code &&
               signal == o.signal && timed_out == o.timed_out && error == o.error;
    }
};
template <typename Header>
struct Decoded {  // on error, `header` is always the default value, never half filled
    Header header;
    std::string error;
};

inline std::string encode_request_header(const RequestHeader& h) {
    return nlohmann::json{{"command_size", h.command_size}}.dump();
}
inline std::string encode_reply_header(const ReplyHeader& h) {
    return nlohmann::json{{"stdout_size", h.stdout_size}, {"stderr_size", h.stderr_size}, {"exit_code", h.exit_code},
                          {"signal", h.signal},           {"timed_out", h.timed_out},     {"error", h.error}}
        .dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
}

namespace detail {
using nlohmann::json;
// Parse `text` as one JSON object whose keys are exactly `fields`; error names what is wrong.
inline bool parse_object(std::string_view text, std::initializer_list<const char*> fields, json& object,
                         std::string& error) {
    try {
        object = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e999 (found by fuzzing)
        error = std::string("malformed JSON header: ") + e.what();
        return false;
    }
    if (!object.is_object()) {
        error = std::string("JSON header must be an object, not ") + object.type_name();
        return false;
    }
    for (const char* field : fields) {
        if (!object.contains(field)) {
            error = std::string("JSON header has no field '") + field + "'";
            return false;
        }
    }
    for (const auto& item : object.items()) {
        bool known = false;
        for (const char* field : fields) known = known || item.key() == field;
        if (!known) {
            error = "JSON header has an unknown field " + quoted(item.key(), 40);
            return false;
        }
    }
    return true;
}
inline bool get_integer(const json& object, const char* field, std::int64_t lowest, std::uint64_t highest,
                        std::uint64_t& value, std::string& error) {
    const json& item = object.at(field);
    const std::string range = std::to_string(lowest) + ".." + std::to_string(highest);
    if (item.is_number_unsigned() && item.get<std::uint64_t>() <= highest) {
        value = item.get<std::uint64_t>();
        return true;
    }
    if (item.is_number_integer() && !item.is_number_unsigned() && item.get<std::int64_t>() >= lowest) {
        value = static_cast<std::uint64_t>(item.get<std::int64_t>());
        return true;
    }
    std::string shown = item.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace);
    if (shown.size() > 40) shown = shown.substr(0, 40) + "...";  // printable ASCII; never echoed whole
    error = std::string("JSON header field '") + field + "' must be an integer in " + range + ", not " + shown;
    return false;
}
}  // namespace detail

inline Decoded<RequestHeader> decode_request_header(std::string_view text, std::uint64_t limit) {
    nlohmann::json object;
    std::string error;
    std::uint64_t size = 0;
    if (!detail::parse_object(text, {"command_size"}, object, error) ||
        !detail::get_integer(object, "command_size", 0, limit, size, error)) {
        return {{}, error};
    }
    return {{size}, ""};
}

inline Decoded<ReplyHeader> decode_reply_header(std::string_view text, std::uint64_t limit) {
    nlohmann::json object;
    std::string error;
    ReplyHeader h;
    std::uint64_t exit_code = 0, signal = 0;
    if (!detail::parse_object(text, {"stdout_size", "stderr_size", "exit_code", "signal", "timed_out", "error"}, object,
                              error) ||
        !detail::get_integer(object, "stdout_size", 0, limit, h.stdout_size, error) ||
        !detail::get_integer(object, "stderr_size", 0, limit, h.stderr_size, error) ||
        !detail::get_integer(object, "exit_code", -1, 255, exit_code, error) ||
        !detail::get_integer(object, "signal", 0, 64, signal, error)) {
        return {{}, error};
    }
    if (!object.at("timed_out").is_boolean()) return {{}, "JSON header field 'timed_out' must be true or false"};
    if (!object.at("error").is_string()) return {{}, "JSON header field 'error' must be a string"};
    if (h.stdout_size + h.stderr_size > limit) {  // each <= limit <= 2^32, so no overflow
        return {{}, too_long("stdout_size + stderr_size", h.stdout_size + h.stderr_size, limit)};
    }
    h.exit_code = static_cast<int>(static_cast<std::int64_t>(exit_code));
    h.signal = static_cast<int>(signal);
    h.timed_out = object.at("timed_out").get<bool>();
    h.error = object.at("error").get<std::string>();
    return {h, ""};
}

// ---- the socket side -------------------------------------------------------------------------

// Python's sendall() for several pieces at once: ONE sendmsg() hands header and body to the
// kernel together (writev), so Nagle never holds a small second piece back (README: the stall).
// Loops over partial sends, restarts on EINTR; MSG_NOSIGNAL: a vanished peer is EPIPE, not SIGPIPE.
inline bool send_all(int fd, const std::vector<std::string_view>& pieces) {
    std::vector<iovec> iov;
    for (const std::string_view piece : pieces) {
        if (!piece.empty()) iov.push_back({const_cast<char*>(piece.data()), piece.size()});
    }
    std::size_t first = 0;
    while (first < iov.size()) {
        msghdr message{};
        message.msg_iov = &iov[first];
        message.msg_iovlen = iov.size() - first;
        const ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        auto left = static_cast<std::size_t>(sent);  // skip what went out, maybe half a piece
        while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (left > 0) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    return true;
}

// What a receive gave: the body, or `ended` (the peer closed cleanly BETWEEN messages),
// or an error saying what is wrong (truncated, over the limit, not a number ...).
struct Received {
    std::string body;
    std::string error;
    bool ended = false;
};

inline std::string errno_text(const char* call) {
    // EAGAIN from a socket with SO_RCVTIMEO: the peer went silent, e.g. because it speaks
    // another format and waits for us (the tutorial's programs, README).
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::string(call) + ": timed out, the peer sent nothing more";
    return std::string(call) + ": " + std::strerror(errno);
}

// `size` bytes of `what` into `out`, or false with `error` set. size was checked against the
// limit before, so a hostile length cannot make us allocate more than the limit.
inline bool recv_part(int fd, std::size_t size, std::string& out, const char* what, std::string& error) {
    out.resize(size);
    const ssize_t got = recv_exact(fd, out.data(), size);
    if (got < 0 || static_cast<std::size_t>(got) < size) {
        error = got < 0 ? errno_text("recv")
                        : std::string("truncated ") + what + ": got " + std::to_string(got) + " of " +
                              std::to_string(size) + " bytes";
        out.clear();
        return false;
    }
    return true;
}

// fixed: 4-byte header, then the body. Also carries the JSON header of the json scheme.
inline Received recv_fixed_message(int fd, std::uint64_t limit, const char* what = "message") {
    Received r;
    char header[kFixedHeaderSize];
    const ssize_t got = recv_exact(fd, header, sizeof header);
    if (got == 0) {
        r.ended = true;
    } else if (got < 0) {
        r.error = errno_text("recv");
    } else if (const Length length = decode_fixed_header({header, static_cast<std::size_t>(got)}, limit, what);
               !length.error.empty()) {
        r.error = length.error;
    } else {
        recv_part(fd, length.value, r.body, what, r.error);
    }
    return r;
}

inline std::string send_fixed_message(int fd, const std::vector<std::string_view>& body_pieces, bool two_sends) {
    std::uint64_t size = 0;
    for (const std::string_view piece : body_pieces) size += piece.size();
    if (size > kHighestMaxBytes) return too_long("message", size, kHighestMaxBytes);
    const std::string header = encode_fixed_header(static_cast<std::uint32_t>(size));
    std::vector<std::string_view> pieces{header};
    if (two_sends) {  // the tutorial's conn.send(header); conn.send(data): for the benchmark only
        if (!send_all(fd, pieces)) return errno_text("send");
        pieces.clear();
    }
    pieces.insert(pieces.end(), body_pieces.begin(), body_pieces.end());
    return send_all(fd, pieces) ? "" : errno_text("send");
}

// json: [4-byte length][JSON header][bodies...], all in one sendmsg.
inline std::string send_json_message(int fd, const std::string& json_header,
                                     const std::vector<std::string_view>& bodies, bool two_sends) {
    std::vector<std::string_view> pieces{json_header};
    pieces.insert(pieces.end(), bodies.begin(), bodies.end());
    const std::string header = encode_fixed_header(static_cast<std::uint32_t>(json_header.size()));
    pieces.insert(pieces.begin(), header);
    if (two_sends) {
        if (!send_all(fd, {header})) return errno_text("send");
        pieces.erase(pieces.begin());
    }
    return send_all(fd, pieces) ? "" : errno_text("send");
}

// ack, receiving: read the length line one byte at a time (it is at most 21 bytes, and the
// sender must wait for recv_ready, so nothing of the body can be in the way), say recv_ready,
// then take exactly that many bytes.
inline Received recv_ack_message(int fd, std::uint64_t limit) {
    Received r;
    std::string line;
    while (line.size() <= kMaxAckDigits && (line.empty() || line.back() != '\n')) {
        char c = 0;
        const ssize_t got = recv_exact(fd, &c, 1);
        if (got < 0) return {"", errno_text("recv") + (line.empty() ? "" : " after " + quoted(line, 40)), false};
        if (got == 0) {
            if (line.empty())
                r.ended = true;
            else
                r.error = "truncated length line " + quoted(line, 40);
            return r;
        }
        line += c;
    }
    const Length length = decode_ack_length(line, limit);
    if (!length.error.empty()) {
        r.error = length.error;
    } else if (length.value == 0) {
        // nothing to get ready for (and see send_ack_message)
    } else if (!send_all(fd, {kRecvReady})) {
        r.error = errno_text("send");
    } else {
        recv_part(fd, length.value, r.body, "message", r.error);
    }
    return r;
}

// ack, sending: the length, wait for "recv_ready", then the data (one extra round trip).
inline std::string send_ack_message(int fd, const std::vector<std::string_view>& body_pieces) {
    std::uint64_t size = 0;
    for (const std::string_view piece : body_pieces) size += piece.size();
    if (!send_all(fd, {encode_ack_length(size)})) return errno_text("send");
    // "0\n" needs no recv_ready: there is nothing to send. The handshake would also make the
    // receiver write twice in a row (recv_ready, then its next message), and Nagle holds the
    // second small write until the first is ACKed: a 40 ms delayed-ACK stall (README).
    if (size == 0) return "";
    char answer[kRecvReady.size()];
    const ssize_t got = recv_exact(fd, answer, sizeof answer);
    if (got < 0) return errno_text("recv");
    if (std::string_view(answer, static_cast<std::size_t>(got)) != kRecvReady) {
        return "expected \"recv_ready\", got " + quoted(std::string_view(answer, static_cast<std::size_t>(got)));
    }
    return send_all(fd, body_pieces) ? "" : errno_text("send");
}

}  // namespace framing
