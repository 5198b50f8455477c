// libFuzzer target: lesson 06's JSON header decoders (the dict header, tutorial 004 end:
// 用字典的方法来打包报头), both the request {"command_size"} and the reply header.
// Invariants checked, for any bytes:
//   - refused  => the header is exactly the default value (never half filled) and the error
//     says why;
//   - accepted => every field is within its range: sizes <= limit, stdout + stderr <= limit,
//     exit_code in -1..255, signal in 0..64;
//   - accepted => encode(decoded) decodes again to the same header (nothing lost or changed).
// Build and run: see 06_framed_fix/README.md, "Fuzzing" (nlohmann-json is header-only: no libraries to link).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../06_framed_fix/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const std::uint64_t limit : {std::uint64_t{100}, framing::kDefaultMaxBytes}) {
        const auto request = framing::decode_request_header(text, limit);
        if (request.error.empty()) {
            if (request.header.command_size > limit) std::abort();
            const auto again = framing::decode_request_header(framing::encode_request_header(request.header), limit);
            if (!again.error.empty() || !(again.header == request.header)) std::abort();
        } else if (!(request.header == framing::RequestHeader{})) {
            std::abort();
        }

        const auto reply = framing::decode_reply_header(text, limit);
        if (reply.error.empty()) {
            const framing::ReplyHeader& h = reply.header;
            if (h.stdout_size > limit || h.stderr_size > limit || h.stdout_size + h.stderr_size > limit) std::abort();
            if (h.exit_code < -1 || h.exit_code > 255 || h.signal < 0 || h.signal > 64) std::abort();
            const auto again = framing::decode_reply_header(framing::encode_reply_header(h), limit);
            if (!again.error.empty() || !(again.header == h)) std::abort();
        } else if (!(reply.header == framing::ReplyHeader{})) {
            std::abort();
        }
    }
    return 0;
}
