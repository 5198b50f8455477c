// libFuzzer target: lesson 06's fixed 4-byte frame header decoder (struct.pack('!I', n)).
// Invariants checked, for any bytes:
//   - accepted  <=> exactly 4 bytes whose big-endian value is within the limit;
//   - accepted  => encode(value) gives back exactly the input bytes (one spelling per length);
//   - refused   => no value leaks out (value == 0) and the error says why;
//   - encode -> decode round-trips for the 32-bit number taken from the input.
// Build and run: see 06_framed_fix/README.md, "Fuzzing" (no libraries beyond the sanitizer runtime).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../06_framed_fix/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    for (const std::uint64_t limit : {std::uint64_t{0}, std::uint64_t{1}, framing::kDefaultMaxBytes, framing::kHighestMaxBytes}) {
        const framing::Length decoded = framing::decode_fixed_header(bytes, limit);
        std::uint64_t expected = 0;
        for (std::size_t i = 0; i < size && i < 4; ++i) expected = (expected << 8) | data[i];
        const bool should_accept = size == 4 && expected <= limit;
        if (decoded.error.empty() != should_accept) std::abort();
        if (decoded.error.empty()) {
            if (decoded.value != expected || decoded.value > limit) std::abort();
            if (framing::encode_fixed_header(static_cast<std::uint32_t>(decoded.value)) != bytes) std::abort();
        } else if (decoded.value != 0) {
            std::abort();
        }
        if (size >= 4) {
            const auto n = static_cast<std::uint32_t>(expected);
            const framing::Length again = framing::decode_fixed_header(framing::encode_fixed_header(n), framing::kHighestMaxBytes);
            if (!again.error.empty() || again.value != n) std::abort();
        }
    }
    return 0;
}
