// libFuzzer target: lesson 06's `ack` scheme length decoder (the length as decimal text + '\n',
// tutorial 002 §4.2 解决方案1). Invariants checked, for any bytes:
//   - accepted => the value is within the limit and encode(value) is exactly the input
//     (1-20 digits, no sign, no spaces, no leading zero, one trailing newline);
//   - refused  => no value leaks out (value == 0) and the error says why;
//   - the line the receiver would read (at most 21 bytes) is never accepted without its '\n';
//   - encode -> decode round-trips for a number taken from the input.
// Build and run: see 06_framed_fix/README.md, "Fuzzing" (no libraries beyond the sanitizer runtime).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "../../06_framed_fix/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const std::uint64_t limit : {std::uint64_t{0}, std::uint64_t{9}, framing::kDefaultMaxBytes, framing::kHighestMaxBytes}) {
        const framing::Length decoded = framing::decode_ack_length(text, limit);
        if (decoded.error.empty()) {
            if (decoded.value > limit) std::abort();
            if (framing::encode_ack_length(decoded.value) != text) std::abort();
            if (size < 2 || size > framing::kMaxAckDigits + 1 || text.back() != '\n') std::abort();
        } else if (decoded.value != 0 || decoded.error.size() > 300) {
            std::abort();
        }
    }
    if (size >= 8) {
        std::uint64_t n = 0;
        std::memcpy(&n, data, sizeof n);
        const framing::Length again = framing::decode_ack_length(framing::encode_ack_length(n), UINT64_MAX);
        if (!again.error.empty() || again.value != n) std::abort();
    }
    return 0;
}
