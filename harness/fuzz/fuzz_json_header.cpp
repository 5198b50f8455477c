// libFuzzer target: lesson 06's JSON header decoders (the dict header, tutorial 004 end:
// 用字典的方法来打包报头), both the request {"command_size"} and the reply header.
// Run with -max_len=65536, the real header limit (kMaxJsonHeaderSize; harness/fuzz/CMakeLists.txt
// does), so that deep nesting fits. Invariants checked, for any bytes:
//   - refused  => the header is left exactly as it was (never half filled), and the error is
//     one bounded line (under 1000 bytes: at most 200 bytes of input, quoted, never echoed whole);
//   - refused for depth => the input really opens an array or object more than kMaxJsonDepth
//     levels deep (counted here without a JSON library); and the same bytes behind "[[[" are
//     refused for depth, whatever they are: the bound is checked as the parser goes, first;
//   - accepted => the input holds no NUL byte: every byte of the frame is the JSON text (nlohmann's
//     lexer stops at a NUL, so `{"command_size": 7}\0junk` once passed; seed nul_then_junk);
//   - accepted => every field is within its range: sizes <= limit, stdout + stderr <= limit,
//     exit_code in -1..255, signal in 0..64;
//   - accepted => encode(decoded) decodes again to the same header (nothing lost or changed).
// Build and run: see 06_framed_fix/README.md, "Fuzzing" (nlohmann-json is header-only).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../06_framed_fix/framing.h"

#define CHECK(condition)                \
    do {                                \
        if (!(condition)) std::abort(); \
    } while (0)

namespace {
const std::string kTooDeep = "JSON header nests arrays or objects more than 2 levels deep";

// The deepest nesting of [ and { outside strings, counted the simple way.
int nesting(std::string_view text) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;  // skip the escaped character
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

bool same(const framing::ReplyHeader& a, const framing::ReplyHeader& b) {
    return a.stdout_size == b.stdout_size && a.stderr_size == b.stderr_size && a.exit_code == b.exit_code &&
           a.signal == b.signal && a.timed_out == b.timed_out && a.error == b.error;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    CHECK(framing::kMaxJsonDepth == 2);  // kTooDeep says so
    for (const std::uint64_t limit : {std::uint64_t{100}, framing::kDefaultMaxBytes}) {
        framing::RequestHeader request{12345};
        const std::string request_error = framing::decode_request_header(text, limit, request);
        if (request_error.empty()) {
            CHECK(text.find('\0') == std::string_view::npos);
            CHECK(request.command_size <= limit);
            framing::RequestHeader again{54321};
            CHECK(framing::decode_request_header(framing::encode_request_header(request), limit, again).empty());
            CHECK(again.command_size == request.command_size);
        } else {
            CHECK(request.command_size == 12345 && request_error.size() < 1000);
            if (request_error == kTooDeep) CHECK(nesting(text) > framing::kMaxJsonDepth);
        }

        const framing::ReplyHeader untouched{7, 7, 7, 7, true, "untouched"};
        framing::ReplyHeader reply = untouched;
        const std::string reply_error = framing::decode_reply_header(text, limit, reply);
        if (reply_error.empty()) {
            CHECK(text.find('\0') == std::string_view::npos);
            const framing::ReplyHeader& h = reply;
            CHECK(h.stdout_size <= limit && h.stderr_size <= limit && h.stdout_size + h.stderr_size <= limit);
            CHECK(h.exit_code >= -1 && h.exit_code <= 255 && h.signal >= 0 && h.signal <= 64);
            framing::ReplyHeader again;
            CHECK(framing::decode_reply_header(framing::encode_reply_header(h), limit, again).empty() && same(again, h));
        } else {
            CHECK(same(reply, untouched) && reply_error.size() < 1000);
            if (reply_error == kTooDeep) CHECK(nesting(text) > framing::kMaxJsonDepth);
        }
    }
    // Three levels open before the parser reaches the input: refused for depth, whatever follows.
    framing::RequestHeader request;
    CHECK(framing::decode_request_header("[[[" + std::string(text), framing::kDefaultMaxBytes, request) == kTooDeep);
    return 0;
}
