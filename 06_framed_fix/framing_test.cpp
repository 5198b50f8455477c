// Lesson 06 — unit tests of framing.h's socket-free encode/decode functions at the edges:
// lengths 0, 1, limit, limit+1, the largest 4-byte value, every truncation of a header,
// and malformed ack lengths and JSON headers. Prints one line per failed check, then a
// summary; exit status 0 only if every check passed. Run by harness/test_06_framed_fix.py.
//
// Usage:  ./framing_test

#include <cstdio>
#include <string>

#include "framing.h"

namespace {
int checks = 0, failures = 0;

void check(bool ok, const std::string& what) {
    ++checks;
    if (!ok) {
        ++failures;
        std::printf("FAIL: %s\n", what.c_str());
    }
}
// The error text must name the problem: `needle` is a piece of the expected message.
void check_error(const std::string& error, const std::string& needle, const std::string& what) {
    check(error.find(needle) != std::string::npos, what + ": error '" + error + "' should contain '" + needle + "'");
}
}  // namespace

int main() {
    using namespace framing;
    constexpr std::uint64_t limit = kDefaultMaxBytes;

    // fixed: '!I' is 4 bytes, big-endian, unsigned
    check(encode_fixed_header(1) == std::string("\0\0\0\1", 4), "fixed: 1 is 00 00 00 01 (big-endian)");
    check(encode_fixed_header(0x01020304) == "\x01\x02\x03\x04", "fixed: 0x01020304 in network order");
    check(encode_fixed_header(0xFFFFFFFFu) == "\xff\xff\xff\xff", "fixed: the largest value is unsigned");
    for (const std::uint64_t n :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256}, limit - 1, limit}) {
        const Length decoded = decode_fixed_header(encode_fixed_header(static_cast<std::uint32_t>(n)), limit);
        check(decoded.error.empty() && decoded.value == n, "fixed: round trip of " + std::to_string(n));
    }
    check_error(decode_fixed_header(encode_fixed_header(limit + 1), limit).error, "exceeds the limit",
                "fixed: limit+1");
    check_error(decode_fixed_header(encode_fixed_header(0xFFFFFFFFu), limit).error, "4294967295 bytes exceeds",
                "fixed: 2^32-1");
    check(decode_fixed_header(encode_fixed_header(0xFFFFFFFFu), kHighestMaxBytes).value == 0xFFFFFFFFu,
          "fixed: 2^32-1 within the highest limit");
    const std::string header = encode_fixed_header(1234);
    for (std::size_t cut = 0; cut < header.size(); ++cut) {
        const Length decoded = decode_fixed_header(header.substr(0, cut), limit);
        check_error(decoded.error, "truncated header: got " + std::to_string(cut) + " of 4",
                    "fixed: cut at " + std::to_string(cut));
        check(decoded.value == 0, "fixed: a rejected header gives no value");
    }

    // ack: decimal text ending in a newline
    for (const std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{10}, limit}) {
        const Length decoded = decode_ack_length(encode_ack_length(n), limit);
        check(decoded.error.empty() && decoded.value == n, "ack: round trip of " + std::to_string(n));
    }
    check(encode_ack_length(1234) == "1234\n", "ack: 1234 is the text 1234 and a newline");
    check_error(decode_ack_length(encode_ack_length(limit + 1), limit).error, "exceeds the limit", "ack: limit+1");
    check_error(decode_ack_length("18446744073709551615\n", kHighestMaxBytes).error, "exceeds the limit",
                "ack: 2^64-1");
    check_error(decode_ack_length("99999999999999999999\n", kHighestMaxBytes).error, "exceeds the limit",
                "ack: 20 nines (over 2^64)");
    check_error(decode_ack_length("123456789012345678901\n", kHighestMaxBytes).error, "not a number of 1-20 digits",
                "ack: 21 digits");
    const std::string line = encode_ack_length(1234);
    for (std::size_t cut = 0; cut < line.size(); ++cut) {
        check_error(decode_ack_length(line.substr(0, cut), limit).error, "does not end with a newline",
                    "ack: cut at " + std::to_string(cut));
    }
    for (const char* bad :
         {"abc\n", "-1\n", "+1\n", " 1\n", "1 \n", "0x10\n", "1.5\n", "1e3\n", "\n", "12\r\n", "1\n\n"}) {
        const Length decoded = decode_ack_length(bad, limit);
        check(!decoded.error.empty() && decoded.value == 0, "ack: " + quoted(bad) + " is refused");
    }
    check_error(decode_ack_length("007\n", limit).error, "leading zero", "ack: 007");

    // json request header
    check(decode_request_header(encode_request_header({0}), limit).header.command_size == 0, "json: command_size 0");
    check(decode_request_header(encode_request_header({limit}), limit).header.command_size == limit,
          "json: command_size limit");
    check_error(decode_request_header(encode_request_header({limit + 1}), limit).error,
                "'command_size' must be an integer in 0..67108864", "json: limit+1");
    check_error(decode_request_header("", limit).error, "malformed JSON header", "json: empty");
    check_error(decode_request_header("{\"command_size\": 5", limit).error, "malformed JSON header", "json: truncated");
    check_error(decode_request_header("[5]", limit).error, "must be an object, not array", "json: array");
    check_error(decode_request_header("5", limit).error, "must be an object, not number", "json: number");
    check_error(decode_request_header("{}", limit).error, "no field 'command_size'", "json: missing field");
    check_error(decode_request_header("{\"command_size\": \"5\"}", limit).error, "'command_size' must be an integer",
                "json: string");
    check_error(decode_request_header("{\"command_size\": -1}", limit).error, "'command_size' must be an integer",
                "json: negative");
    check_error(decode_request_header("{\"command_size\": 1.5}", limit).error, "'command_size' must be an integer",
                "json: float");
    check_error(decode_request_header("{\"command_size\": 1, \"x\": 2}", limit).error, "unknown field \"x\"",
                "json: extra field");
    check_error(decode_request_header("{\"command_size\": 1e999}", limit).error, "number overflow",
                "json: 1e999 (out_of_range)");
    check_error(decode_request_header("{\"command_size\": 18446744073709551616}", limit).error, "must be an integer",
                "json: 2^64");

    // json reply header
    const ReplyHeader full{limit, 0, 255, 0, false, ""};
    check(decode_reply_header(encode_reply_header(full), limit).header == full, "json: reply at the limit");
    const ReplyHeader killed{1, 2, -1, 9, true, "caf\xc3\xa9"};
    check(decode_reply_header(encode_reply_header(killed), limit).header == killed,
          "json: killed, timed out, UTF-8 error text");
    const std::string over = encode_reply_header({limit, 1, 0, 0, false, ""});
    const Decoded<ReplyHeader> refused = decode_reply_header(over, limit);
    check_error(refused.error, "stdout_size + stderr_size of 67108865 bytes exceeds",
                "json: sizes add up over the limit");
    check(refused.header == ReplyHeader{}, "json: a refused header is left empty");
    std::string without_exit = encode_reply_header(full);
    without_exit.replace(without_exit.find("\"exit_code\":255,"), 16, "");
    check_error(decode_reply_header(without_exit, limit).error, "no field 'exit_code'", "json: missing exit_code");
    std::string bad_flag = encode_reply_header(full);
    bad_flag.replace(bad_flag.find("false"), 5, "0");
    check_error(decode_reply_header(bad_flag, limit).error, "'timed_out' must be true or false", "json: timed_out 0");
    const std::string text = encode_reply_header(killed);
    for (std::size_t cut = 0; cut < text.size(); ++cut) {
        const Decoded<ReplyHeader> cut_short = decode_reply_header(text.substr(0, cut), limit);
        check(!cut_short.error.empty() && cut_short.header == ReplyHeader{},
              "json: reply header cut at " + std::to_string(cut));
    }

    std::printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
