// quoted.h — bytes from the network made safe to print on a terminal or in a log line.
//
// A COPY, kept byte-identical in every lesson folder that uses it, so that each folder builds alone.
// The original is 01_tcp_basic/quoted.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

// "hello", "" (empty), "a\x00b\n", "你好": valid UTF-8 passes, so text stays readable; control
// characters (ESC, CR ...), C1 controls and the characters that hide or reorder text (bidi
// overrides such as U+202E, zero-width ones) are escaped, so "abc\u202etxt.exe" cannot pose as
// "abcexe.txt"; so is every byte that is not UTF-8. At most `max` bytes are shown, then "...".
inline std::string quoted(std::string_view bytes, std::size_t max = std::string_view::npos) {
    std::string text = "\"";
    char escape[12];
    std::size_t i = 0;
    while (i < bytes.size() && i < max) {
        const auto lead = static_cast<unsigned char>(bytes[i]);
        // UTF-8: the first byte says how long the sequence is; each next byte is 10xxxxxx
        const std::size_t n = lead < 0x80   ? 1
                              : lead < 0xc2 ? 0  // a continuation byte, or an overlong 2-byte lead
                              : lead < 0xe0 ? 2
                              : lead < 0xf0 ? 3
                              : lead < 0xf5 ? 4
                                            : 0;  // would be above U+10FFFF
        std::uint32_t code = n == 1 ? lead : lead & (0x7f >> n);
        std::size_t k = 1;
        for (; k < n && i + k < bytes.size() && (bytes[i + k] & 0xc0) == 0x80; ++k) {
            code = code << 6 | (bytes[i + k] & 0x3f);
        }
        const bool utf8 = n > 0 && k == n && !(n == 3 && code < 0x800) && !(n == 4 && code < 0x10000) &&
                          code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
        if (!utf8) {
            std::snprintf(escape, sizeof escape, "\\x%02x", lead);
            text += escape;
            ++i;
            continue;
        }
        if (code == '"' || code == '\\') {
            text += '\\';
            text += static_cast<char>(code);
        } else if (code == '\n' || code == '\t' || code == '\r') {
            text += code == '\n' ? "\\n" : code == '\t' ? "\\t" : "\\r";
        } else if (code < 0x20 || code == 0x7f) {
            std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned>(code));
            text += escape;
        } else if ((code >= 0x80 && code < 0xa0) || code == 0x61c || (code >= 0x200b && code <= 0x200f) ||
                   (code >= 0x2028 && code <= 0x202e) || (code >= 0x2060 && code <= 0x2069) || code == 0xfeff) {
            std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(code));
            text += escape;
        } else {
            text.append(bytes.substr(i, n));
        }
        i += n;
    }
    return text + (i < bytes.size() ? "\"..." : "\"");
}
// Exact matches for a std::string and a C string: std::quoted, which argument-dependent lookup
// also finds for a std::string once <iomanip> is included (nlohmann/json.hpp does), must not win.
inline std::string quoted(const std::string& bytes, std::size_t max = std::string::npos) {
    return quoted(std::string_view(bytes), max);
}
inline std::string quoted(const char* bytes, std::size_t max = std::string::npos) {
    return quoted(std::string_view(bytes), max);
}
