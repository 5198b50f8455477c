// Lesson 06 — unit tests of framing.h's socket-free encode/decode functions at the edges:
// lengths 0, 1, limit, limit+1, the largest 4-byte value, every truncation of a header,
// and malformed ack lengths and JSON headers. Prints one line per failed check, then a
// summary; exit status 0 only if every check passed. Run by harness/test_06_framed_fix.py.
//
// Usage:  ./framing_test       (--help prints this usage; any other argument is a usage error)

#include <cstdio>
#include <string>
#include <string_view>

#include "framing.h"
#include "framing_checks.h"  // check, check_error, request, reply
#include "quoted.h"

int main(int argc, char* argv[]) {
    using namespace framing;
    if (argc > 1) return usage(argv[1]);  // no arguments: --help prints the usage, anything else is a mistake
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
    check(request(encode_request_header({0}), limit).header.command_size == 0, "json: command_size 0");
    check(request(encode_request_header({limit}), limit).header.command_size == limit, "json: command_size limit");
    check_error(request(encode_request_header({limit + 1}), limit).error,
                "'command_size' must be an integer in 0..67108864", "json: limit+1");
    check_error(request("", limit).error, "malformed JSON header", "json: empty");
    check_error(request("{\"command_size\": 5", limit).error, "malformed JSON header", "json: truncated");
    check_error(request("[5]", limit).error, "must be an object, not array", "json: array");
    check_error(request("5", limit).error, "must be an object, not number", "json: number");
    check_error(request("{}", limit).error, "no field 'command_size'", "json: missing field");
    check_error(request("{\"command_size\": \"5\"}", limit).error, "'command_size' must be an integer", "json: string");
    check_error(request("{\"command_size\": -1}", limit).error, "'command_size' must be an integer", "json: negative");
    check_error(request("{\"command_size\": 1.5}", limit).error, "'command_size' must be an integer", "json: float");
    check_error(request("{\"command_size\": 1, \"x\": 2}", limit).error, "unknown field \"x\"", "json: extra field");
    check_error(request("{\"command_size\": 1e999}", limit).error, "number overflow", "json: 1e999 (out_of_range)");
    // every byte of the frame is the JSON text: a NUL (where nlohmann's lexer would stop) and what follows it
    // are refused, not ignored (issue 21 item 5); trailing junk without a NUL is a parse error anyway
    check_error(request(std::string("{\"command_size\": 7}\0junk", 24), limit).error, "NUL byte at offset 19 of 24",
                "json: NUL then junk after the object");
    check_error(request(std::string("{\"command_size\": 7}\0", 20), limit).error, "NUL byte", "json: NUL at the end");
    check_error(request("{\"command_size\": 7} junk", limit).error, "malformed JSON header", "json: junk after");
    check_error(reply(std::string("{\"stdout_size\":0}\0", 18), limit).error, "NUL byte", "json reply: NUL");
    check_error(request("{\"command_size\": 18446744073709551616}", limit).error, "must be an integer", "json: 2^64");

    // json reply header
    const ReplyHeader full{limit, 0, 255, 0, false, ""}, killed{1, 2, -1, 9, true, "caf\xc3\xa9"};
    check(reply(encode_reply_header(full), limit).header == full, "json: reply at the limit");
    check(reply(encode_reply_header(killed), limit).header == killed, "json: killed, timed out, UTF-8 error text");
    const std::string over = encode_reply_header({limit, 1, 0, 0, false, ""});
    const Reply refused = reply(over, limit);
    check_error(refused.error, "stdout_size + stderr_size of 67108865 bytes exceeds",
                "json: sizes add up over the limit");
    check(refused.header == ReplyHeader{}, "json: a refused header is left empty");
    std::string without_exit = encode_reply_header(full);
    without_exit.replace(without_exit.find("\"exit_code\":255,"), 16, "");
    check_error(reply(without_exit, limit).error, "no field 'exit_code'", "json: missing exit_code");
    std::string bad_flag = encode_reply_header(full);
    bad_flag.replace(bad_flag.find("false"), 5, "0");
    check_error(reply(bad_flag, limit).error, "'timed_out' must be true or false", "json: timed_out 0");
    const std::string text = encode_reply_header(killed);
    for (std::size_t cut = 0; cut < text.size(); ++cut) {
        const Reply cut_short = reply(text.substr(0, cut), limit);
        check(!cut_short.error.empty() && cut_short.header == ReplyHeader{},
              "json: reply header cut at " + std::to_string(cut));
    }

    // a refused value is described in a few words, never echoed
    check_error(request("{\"command_size\": 1.5}", limit).error, "not a number with a fraction", "json: 1.5 described");
    check_error(request("{\"command_size\": \"rm -rf\"}", limit).error, "not a JSON string", "json: string described");
    check_error(request("{\"command_size\": -1}", limit).error, "in 0..67108864, not -1", "json: -1 shown");
    check_error(request("{\"command_size\": [1]}", limit).error, "not a JSON array", "json: array one level in");
    ReplyHeader kept{7, 7, 7, 7, true, "kept"};
    const ReplyHeader before = kept;
    check(!decode_reply_header(bad_flag, limit, kept).empty() && kept == before,
          "json: a refused reply leaves it as it was");

    // depth: a header is one flat object; anything nested more than 2 levels is refused as the
    // parser meets it, before a deep value exists (32,759 levels fit in the 64 KiB a header may have)
    const std::string too_deep = "more than 2 levels deep";
    check_error(request("{\"command_size\": [[1]]}", limit).error, too_deep, "json: 3 levels");
    check_error(request("[[[]]]", limit).error, too_deep, "json: 3 levels, no object");
    const std::size_t levels = (kMaxJsonHeaderSize - 17) / 2;
    const std::string deep = "{\"command_size\":" + std::string(levels, '[') + std::string(levels, ']') + "}";
    check(deep.size() <= kMaxJsonHeaderSize, "json: the deep header fits the header limit");
    check(request(deep, limit).error == "JSON header nests arrays or objects more than 2 levels deep",
          "json: 32,759 levels: refused, in one short line");
    check_error(request(std::string(kMaxJsonHeaderSize, '['), limit).error, too_deep,
                "json: unclosed, deep is said before malformed");
    const std::string deep_reply = "{\"stderr_size\":0,\"exit_code\":0,\"signal\":0,\"timed_out\":false,\"error\":\"\","
                                   "\"stdout_size\":" + std::string(levels - 60, '[') + "}";
    check_error(reply(deep_reply, limit).error, too_deep, "json: a deep reply header");
    // a parse error quotes the parser's message, bounded: a 64 KiB string token is not echoed
    const Request long_token = request("{\"command_size\": \"" + std::string(kMaxJsonHeaderSize - 20, 'x'), limit);
    check_error(long_token.error, "malformed JSON header", "json: unterminated 64 KiB string");
    check(long_token.error.size() < 300,
          "json: its error is one short line, not " + std::to_string(long_token.error.size()) + " bytes");
    check_error(request("{\"command_size\": 1, \"\\u001b[2J\": 1}", limit).error, "unknown field \"\\x1b[2J\"",
                "json: an unknown field's name is quoted");

    std::printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
