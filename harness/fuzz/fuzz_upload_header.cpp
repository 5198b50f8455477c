// libFuzzer target for lesson 07's network-facing parsers (07_file_transfer/protocol.h):
// the frame length prefix, the JSON upload header with its file-name check, and the trailer.
//
// The input is read as the bytes a client would send: a 4-byte length, then the
// header body. The same bytes are also fed whole to file_name_problem() and
// decode_trailer(). Invariants, not just "does not crash":
//   - a length over kMaxHeaderSize is always refused, anything else is read back exactly;
//   - an accepted header has a safe name (no separator, no control byte, not . or ..,
//     1..255 bytes, not the server's temp prefix) and a size <= kMaxFileSize, and it
//     survives encode -> decode unchanged; a refused one always says why;
//   - an accepted name is also accepted inside a freshly encoded header;
//   - an accepted trailer is 32 lowercase hex digits and survives encode -> decode;
//   - every byte of a frame is its JSON text: no accepted text holds a NUL byte (seed
//     trailing_nul: a valid header, then NUL and more bytes, inside the frame's length);
//   - the JSON depth bound: parse_object() accepts no text whose `{`/`[` nest deeper than
//     kMaxJsonDepth (counted here independently, outside strings), and says "nests deeper"
//     only of such texts; inputs reach the real 64 KiB header limit (-max_len=65540, set in
//     harness/fuzz/CMakeLists.txt), so 32,000 levels are within reach.
//
// Build and run (see the README of lesson 07):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined harness/fuzz/fuzz_upload_header.cpp \
//       -o /tmp/fuzz_upload_header -lxxhash
//   /tmp/fuzz_upload_header -max_total_time=60 -max_len=65540 harness/fuzz/corpus/upload_header
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../07_file_transfer/protocol.h"

#define CHECK(condition) \
    do {                 \
        if (!(condition)) std::abort(); \
    } while (0)

static void check_safe_name(std::string_view name) {
    CHECK(!name.empty() && name.size() <= kMaxNameBytes);
    CHECK(name != "." && name != "..");
    CHECK(name.find('/') == std::string_view::npos && name.find('\\') == std::string_view::npos);
    for (const char c : name) CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    CHECK(name.rfind(kTempPrefix, 0) != 0);
}

// How deep `{` and `[` nest in `text`, outside JSON strings: a count with no recursion and
// no JSON library, to hold parse_object() to its bound.
static int nesting_depth(std::string_view text) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return deepest;
}

static void check_depth_bound(std::string_view text) {
    std::string why;
    const json value = parse_object(text, why);
    const bool too_deep = why.find("nests deeper") != std::string::npos;
    CHECK(value.is_discarded() ? !why.empty() : why.empty() && value.is_object());
    // Every byte is the JSON text: nothing with a NUL in it is accepted (nlohmann's lexer alone
    // would stop at the NUL and accept `{...}\0junk` as `{...}`).
    if (!value.is_discarded()) CHECK(text.find('\0') == std::string_view::npos);
    if (!value.is_discarded()) CHECK(nesting_depth(text) <= kMaxJsonDepth);
    if (too_deep) CHECK(nesting_depth(text) > kMaxJsonDepth);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    // 1. The frame: length prefix first, then the header it announces.
    if (input.size() >= 4) {
        std::string error;
        const auto length = decode_frame_length(input.data(), kMaxHeaderSize, error);
        const std::uint32_t announced = std::uint32_t{data[0]} << 24 | std::uint32_t{data[1]} << 16 |
                                        std::uint32_t{data[2]} << 8 | std::uint32_t{data[3]};
        CHECK(length.has_value() == (announced <= kMaxHeaderSize));
        CHECK(length ? *length == announced && error.empty() : !error.empty());
        if (length) CHECK(encode_frame(std::string(input.substr(4, *length))).size() ==
                          4 + std::min<std::size_t>(*length, input.size() - 4));
        if (length && input.size() - 4 >= *length) {
            const std::string_view body = input.substr(4, *length);
            check_depth_bound(body);
            std::string why;
            if (const auto header = decode_header(body, why)) {
                CHECK(why.empty());
                check_safe_name(header->filename);
                CHECK(header->size <= kMaxFileSize);
                std::string again_why;
                const auto again = decode_header(encode_header(*header), again_why);
                CHECK(again && again->filename == header->filename && again->size == header->size);
            } else {
                CHECK(!why.empty());
            }
        }
    }

    // 2. The whole input as a file name.
    if (!file_name_problem(input)) {
        check_safe_name(input);
        try {
            std::string why;
            const auto header = decode_header(encode_header(UploadHeader{std::string(input), 1}), why);
            CHECK(header && header->filename == input);
        } catch (const json::type_error&) {
            // not UTF-8: the client refuses to encode it (and the parser would refuse it)
        }
    }

    // 3. The whole input as a trailer, and as a reply the client parses.
    check_depth_bound(input);
    if (const auto hex = decode_trailer(input)) {
        CHECK(hex->size() == 32 && hex->find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(decode_trailer(encode_trailer(*hex)) == hex);
    }
    return 0;
}
