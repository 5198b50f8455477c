// framing.h — the heart of lesson 06: how a receiver knows where a message ends.
//
// TCP is a byte stream; one send() is not one recv() (lesson 05, tutorial 002 §4.1).
// The sender therefore says how many bytes follow, in one of three ways (tutorial 002 §4.2):
//   ack    解决方案1: the length as decimal text "1234\n"; the receiver answers "recv_ready";
//          then the data. Costs one extra round trip per message.
//   fixed  解决方案2: a 4-byte header, struct.pack('!I', n): unsigned, big-endian ("network
//          order"), then the data.
//   json   000 end of §四 / 004 end (用字典的方法来打包报头): a 4-byte length of a JSON header,
//          the JSON header (sizes, exit code ...), then the bodies.
//
// This file only encodes and decodes: it never touches a socket, so framing_test.cpp unit-tests
// it and harness/fuzz/ fuzzes it. Who sends what when (the conversation) is in server.cpp and
// client.cpp; moving whole messages over a socket, with bounds, is message_io.h.
#pragma once

#include <nlohmann/json.hpp>

#include "quoted.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace framing {

constexpr std::uint64_t kDefaultMaxBytes = 64ull << 20;    // 64 MiB: largest body we accept
constexpr std::uint64_t kHighestMaxBytes = 0xFFFFFFFFull;  // the most 4 bytes of '!I' can say
constexpr std::size_t kFixedHeaderSize = 4;                // struct.calcsize('!I')
constexpr std::size_t kMaxJsonHeaderSize = 64 * 1024;      // a JSON header is small; refuse more
constexpr int kMaxJsonDepth = 2;                           // the header object, and one level in it
constexpr std::size_t kMaxAckDigits = 20;                  // 18446744073709551615 has 20 digits
constexpr std::string_view kRecvReady = "recv_ready";      // tutorial 002 §4.2 解决方案1

struct Length {  // a decoded length, or why there is none (error empty = ok)
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
inline std::string encode_ack_length(std::uint64_t length) { return std::to_string(length) + "\n"; }

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
    if (digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return {0, "length " + quoted(digits) + " is not a number"};
    }
    if (digits.size() > 1 && digits[0] == '0') return {0, "length " + quoted(digits) + " has a leading zero"};
    std::uint64_t value = 0;
    for (const char c : digits) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (digit > limit || value > (limit - digit) / 10) {  // value * 10 + digit > limit, without overflow
            return {0, "length " + std::string(digits) + " exceeds the limit of " + std::to_string(limit) + " bytes"};
        }
        value = value * 10 + digit;
    }
    return {value, ""};
}

// ---- json: the dict header (004: 用字典的方法来打包报头) ----------------------------------------
struct RequestHeader {  // client -> server: {"command_size": 7}, then the command
    std::uint64_t command_size = 0;
};
struct ReplyHeader {  // server -> client, then stdout and stderr, kept apart
    std::uint64_t stdout_size = 0;
    std::uint64_t stderr_size = 0;
    int exit_code = 0;       // -1 when the command did not exit by itself
    int signal = 0;          // the signal that ended it, 0 if none
    bool timed_out = false;  // the server killed it after --timeout seconds
    std::string error;       // the server refused (e.g. output over the limit); "" if none
};

inline std::string encode_request_header(const RequestHeader& h) {
    return nlohmann::json{{"command_size", h.command_size}}.dump();
}
inline std::string encode_reply_header(const ReplyHeader& h) {
    return nlohmann::json{{"stdout_size", h.stdout_size}, {"stderr_size", h.stderr_size}, {"exit_code", h.exit_code},
                          {"signal", h.signal},           {"timed_out", h.timed_out},     {"error", h.error}}
        .dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
}

// Decoding trusts nothing: the peer may send any bytes. Each step below returns "" or what is
// wrong, in a short line that never echoes the input whole.
using nlohmann::json;

// `text` as one JSON object. A header is flat, but a hostile peer may send [[[[...]]]] 32,000
// levels deep, and whatever walks a value recursively (dump(), a copy, ==) needs a stack frame
// per level: a crash. The parser itself keeps its place on the heap, and calls this callback
// as each array or object opens: the first one deeper than kMaxJsonDepth stops it (throw).
inline std::string parse_header(std::string_view text, json& header) {
    struct TooDeep {};
    const json::parser_callback_t refuse_deep = [](int depth, json::parse_event_t event, json&) {
        const bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
        if (opens && depth >= kMaxJsonDepth) throw TooDeep{};  // depth 0: the header object itself
        return true;
    };
    try {
        header = json::parse(text.begin(), text.end(), refuse_deep);
    } catch (const TooDeep&) {
        return "JSON header nests arrays or objects more than " + std::to_string(kMaxJsonDepth) + " levels deep";
    } catch (const json::exception& e) {  // parse_error; out_of_range for 1e999 (found by fuzzing)
        return "malformed JSON header: " + quoted(e.what(), 200);
    }
    // Every byte of the frame must be the JSON text: nlohmann's lexer stops at a NUL as if the
    // text ended there (nlohmann/json#1095), so `{"command_size": 7}\0junk` parses as a whole
    // header. JSON has no raw NUL anywhere (inside a string it is written \u0000): a text that
    // parsed but holds one is refused. (Checked after the parse, so depth is refused first.)
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
        return "JSON header has a NUL byte at offset " + std::to_string(nul) + " of " + std::to_string(text.size()) +
               ": every byte of the frame must be the JSON text";
    }
    if (!header.is_object()) return std::string("JSON header must be an object, not ") + header.type_name();
    return "";
}

// What a refused value was, in a few words: a small integer as itself, anything else by its type.
inline std::string describe(const json& value) {
    if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
    if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
    if (value.is_number_float()) return "a number with a fraction or an exponent";
    return std::string("a JSON ") + value.type_name();  // string, array, object, boolean, null
}

// Exactly these fields: a missing one is named, and so is one we do not know (a typo like
// "comand_size" must not pass unnoticed).
inline std::string has_exactly(const json& header, std::initializer_list<std::string_view> names) {
    for (const std::string_view name : names) {
        if (!header.contains(name)) return "JSON header has no field '" + std::string(name) + "'";
    }
    for (const auto& field : header.items()) {
        if (std::find(names.begin(), names.end(), field.key()) == names.end()) {
            return "JSON header has an unknown field " + quoted(field.key(), 40);
        }
    }
    return "";
}

// The integer field `name`, within lowest..highest (lowest <= 0). nlohmann keeps a number written
// without '-' as unsigned, and one with '-' as signed (a negative): each is checked its own way.
inline std::string read_integer(const json& header, const char* name, std::int64_t lowest, std::uint64_t highest,
                                std::int64_t& value) {
    const json& field = header.at(name);
    const bool ok = field.is_number_unsigned() ? field.get<std::uint64_t>() <= highest
                                               : field.is_number_integer() && field.get<std::int64_t>() >= lowest;
    if (!ok) {
        return std::string("JSON header field '") + name + "' must be an integer in " + std::to_string(lowest) +
               ".." + std::to_string(highest) + ", not " + describe(field);
    }
    value = field.get<std::int64_t>();  // highest <= 2^32: it fits
    return "";
}

// {"command_size": N}, N <= limit. On error `request` is left untouched: never half filled.
inline std::string decode_request_header(std::string_view text, std::uint64_t limit, RequestHeader& request) {
    json header;
    std::int64_t command_size = 0;
    std::string error = parse_header(text, header);
    if (error.empty()) error = has_exactly(header, {"command_size"});
    if (error.empty()) error = read_integer(header, "command_size", 0, limit, command_size);
    if (error.empty()) request.command_size = static_cast<std::uint64_t>(command_size);
    return error;
}

// {"stdout_size", "stderr_size", "exit_code", "signal", "timed_out", "error"}, the two sizes
// together at most `limit`. On error `reply` is left untouched.
inline std::string decode_reply_header(std::string_view text, std::uint64_t limit, ReplyHeader& reply) {
    json header;
    std::int64_t out = 0, err = 0, exit_code = 0, signal = 0;
    std::string error = parse_header(text, header);
    if (error.empty()) {
        error = has_exactly(header, {"stdout_size", "stderr_size", "exit_code", "signal", "timed_out", "error"});
    }
    if (error.empty()) error = read_integer(header, "stdout_size", 0, limit, out);
    if (error.empty()) error = read_integer(header, "stderr_size", 0, limit, err);
    if (error.empty()) error = read_integer(header, "exit_code", -1, 255, exit_code);
    if (error.empty()) error = read_integer(header, "signal", 0, 64, signal);
    if (error.empty() && !header.at("timed_out").is_boolean()) {
        error = "JSON header field 'timed_out' must be true or false";
    }
    if (error.empty() && !header.at("error").is_string()) error = "JSON header field 'error' must be a string";
    if (error.empty() && static_cast<std::uint64_t>(out + err) > limit) {  // each <= limit <= 2^32: no overflow
        error = too_long("stdout_size + stderr_size", static_cast<std::uint64_t>(out + err), limit);
    }
    if (error.empty()) {
        reply = {static_cast<std::uint64_t>(out), static_cast<std::uint64_t>(err), static_cast<int>(exit_code),
                 static_cast<int>(signal), header.at("timed_out").get<bool>(), header.at("error").get<std::string>()};
    }
    return error;
}

}  // namespace framing
