// protocol.h — lesson 07's upload protocol, with no socket call in it, so the
// part that reads bytes from the network can be tested and fuzzed on its own
// (harness/fuzz/fuzz_upload_header.cpp). server.cpp and client.cpp share it.
//
// One upload on one TCP connection (tutorial 004 end: 先收报头 … 用字典的方法来打包报头):
//
//   client → server  [4-byte length, network order] {"filename": "a.txt", "size": 5, "digest": "xxh3-128"}
//   server → client  [length] {"ok": true, "ready": true}        or a final {"ok": false, "error": "..."}
//   client → server  exactly `size` raw bytes, in chunks
//   client → server  [length] {"digest": "<32 hex digits of XXH3-128>"}      the trailer
//   server → client  [length] {"ok": true, "filename": ..., "size": ..., "digest": ...}
//                          or {"ok": false, "error": "..."}
#pragma once

#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
// libxxhash's own run-time dispatch: XXH3 with AVX2/AVX-512 where the CPU has them
// (the plain entry points are built for SSE2 only, about half as fast).
#include <xxh_x86dispatch.h>
#endif

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

using json = nlohmann::json;

constexpr std::size_t kMaxHeaderSize = 64 * 1024;  // a header is a few dozen bytes; refuse anything huge
constexpr std::size_t kMaxTrailerSize = 1024;
constexpr std::size_t kMaxNameBytes = 255;          // NAME_MAX on Linux file systems
constexpr const char* kDigestName = "xxh3-128";
constexpr const char* kTempPrefix = ".upload-";     // the server's temporary files: never a client's name
constexpr std::uint64_t kMaxFileSize = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
constexpr int kMaxJsonDepth = 2;                    // {"filename": "a"} is depth 1: every message here is flat

// The framing (lesson 06, tutorial 004 struct.pack): a 4-byte length in network
// (big-endian) order, then that many bytes. Written out by hand: no socket header needed.
inline std::string encode_frame(const std::string& body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    std::string frame{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                      static_cast<char>(n)};
    return frame + body;
}

// The body length a 4-byte prefix announces, or nothing (and `error`) when it is
// over `limit`: checked before the receiver allocates or reads anything.
inline std::optional<std::uint32_t> decode_frame_length(const char prefix[4], std::size_t limit, std::string& error) {
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<unsigned char>(prefix[i]);
    if (n > limit) {
        error = "frame of " + std::to_string(n) + " bytes is over the limit of " + std::to_string(limit);
        return std::nullopt;
    }
    return n;
}

// JSON text -> object (every message here is one), or a discarded value and `error` says why
// ("is not a JSON object", "nests deeper than 2 levels"). Untrusted structure is bounded BEFORE
// anything is built from it: nlohmann's SAX interface reads the text once, reporting each `{`
// and `[` as it comes, and the parse stops at the first one deeper than kMaxJsonDepth. So
// 32,000 nested `[` (64 KiB) cost three of them, and no value is ever built that code could
// walk recursively, level by level (dump(), comparisons) — no stack overflow.
//
// Every byte of the frame must be the JSON text: its length says what belongs to it. A NUL byte
// is never part of JSON text (inside a string it must be written \u0000), but nlohmann's lexer
// reads one as the end of the input (nlohmann/json #1095), so `{...}\0junk` would pass as `{...}`.
// So a NUL anywhere is refused first; any other byte after the object fails the strict parse.
inline json parse_object(std::string_view bytes, std::string& error) {
    if (const auto nul = bytes.find('\0'); nul != std::string_view::npos) {
        error = "is not a JSON object (a NUL byte at offset " + std::to_string(nul) + ")";
        return json(json::value_t::discarded);
    }
    struct DepthLimit : nlohmann::json_sax<json> {
        int depth = 0;
        bool too_deep = false;
        bool open() { return !(too_deep = ++depth > kMaxJsonDepth); }
        bool start_object(std::size_t) override { return open(); }
        bool start_array(std::size_t) override { return open(); }
        bool end_object() override { return --depth, true; }
        bool end_array() override { return --depth, true; }
        bool null() override { return true; }
        bool boolean(bool) override { return true; }
        bool number_integer(number_integer_t) override { return true; }
        bool number_unsigned(number_unsigned_t) override { return true; }
        bool number_float(number_float_t, const string_t&) override { return true; }
        bool string(string_t&) override { return true; }
        bool binary(binary_t&) override { return true; }
        bool key(string_t&) override { return true; }
        bool parse_error(std::size_t, const std::string&, const json::exception&) override { return false; }
    } limit;
    if (!json::sax_parse(bytes.begin(), bytes.end(), &limit)) {
        error = limit.too_deep ? "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels" : "is not a JSON object";
        return json(json::value_t::discarded);
    }
    json value = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
    if (!value.is_object()) {
        error = "is not a JSON object";
        return json(json::value_t::discarded);
    }
    return value;
}

struct UploadHeader {
    std::string filename;
    std::uint64_t size = 0;
};

// Why `name` may not be used as a file name inside the upload folder, or
// nothing when it is a plain file name. Paths and the special names `.` and
// `..` would let a client write outside the folder ("../x", "/etc/x").
inline std::optional<std::string> file_name_problem(std::string_view name) {
    if (name.empty()) return "empty file name";
    if (name.size() > kMaxNameBytes) return "file name longer than 255 bytes";
    if (name == "." || name == "..") return "file name '" + std::string(name) + "' is a directory";
    for (const char c : name) {
        if (c == '/' || c == '\\') return "file name contains a path separator";
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "file name contains a control character";
    }
    if (name.substr(0, std::string_view(kTempPrefix).size()) == kTempPrefix)
        return std::string("file name starts with ") + kTempPrefix + " (reserved)";
    return std::nullopt;
}

inline std::string encode_header(const UploadHeader& header) {
    // json::dump throws if the name is not UTF-8: the client checks that first
    return json{{"filename", header.filename}, {"size", header.size}, {"digest", kDigestName}}.dump();
}

// Header bytes -> UploadHeader, or nothing and `error` says why. Every field is
// checked here, before the server creates anything on disk.
inline std::optional<UploadHeader> decode_header(std::string_view bytes, std::string& error) {
    const json header = parse_object(bytes, error);
    if (header.is_discarded()) {
        error = "header " + error;
        return std::nullopt;
    }
    for (const auto& item : header.items()) {
        if (item.key() != "filename" && item.key() != "size" && item.key() != "digest") {
            error = "header has an unknown field";
            return std::nullopt;
        }
    }
    const auto filename = header.find("filename");
    const auto size = header.find("size");
    const auto digest = header.find("digest");
    if (filename == header.end() || !filename->is_string()) {
        error = "header needs \"filename\": a string";
        return std::nullopt;
    }
    if (size == header.end() || !size->is_number_unsigned() || size->get<std::uint64_t>() > kMaxFileSize) {
        error = "header needs \"size\": a whole number of bytes";
        return std::nullopt;
    }
    if (digest == header.end() || *digest != kDigestName) {
        error = std::string("header needs \"digest\": \"") + kDigestName + "\"";
        return std::nullopt;
    }
    UploadHeader result{filename->get<std::string>(), size->get<std::uint64_t>()};
    if (const auto problem = file_name_problem(result.filename)) {
        error = *problem;
        return std::nullopt;
    }
    return result;
}

// The trailer carries the sender's digest of the bytes it sent.
inline std::string encode_trailer(const std::string& hex_digest) { return json{{"digest", hex_digest}}.dump(); }

inline std::optional<std::string> decode_trailer(std::string_view bytes) {
    std::string error;
    const json trailer = parse_object(bytes, error);
    if (trailer.is_discarded() || trailer.size() != 1 || !trailer.contains("digest") ||
        !trailer["digest"].is_string())
        return std::nullopt;
    std::string hex = trailer["digest"].get<std::string>();
    if (hex.size() != 32 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    return hex;
}

// XXH3-128 over a stream of chunks, as rsync uses it: update() with each chunk
// as it passes, hex() at the end. The hex form is XXH128's canonical
// (big-endian) one, which is what `xxhsum -H2 FILE` prints.
class Digest {
public:
    Digest() : state_(XXH3_createState(), &XXH3_freeState) {
        if (!state_ || XXH3_128bits_reset(state_.get()) != XXH_OK) throw std::bad_alloc();
    }
    void update(const void* data, std::size_t size) { XXH3_128bits_update(state_.get(), data, size); }
    std::string hex() const {
        XXH128_canonical_t canonical;
        XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_.get()));
        static const char digits[] = "0123456789abcdef";
        std::string text;
        for (const unsigned char byte : canonical.digest) {
            text += digits[byte >> 4];
            text += digits[byte & 0xf];
        }
        return text;
    }

private:
    std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state_;
};
