// framing_checks.h — what framing_test.cpp needs to say each check in one line: check() and
// check_error() count and report, and the decoders' results come back as values (the decoders
// fill an out-parameter and return the error; request() and reply() give both at once).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "framing.h"
#include "quoted.h"

namespace framing {  // test-only: compare whole headers
bool operator==(const RequestHeader& a, const RequestHeader& b) { return a.command_size == b.command_size; }
bool operator==(const ReplyHeader& a, const ReplyHeader& b) {
    return a.stdout_size == b.stdout_size && a.stderr_size == b.stderr_size && a.exit_code == b.exit_code &&
           a.signal == b.signal && a.timed_out == b.timed_out && a.error == b.error;
}
}  // namespace framing

namespace {
int checks = 0, failures = 0;

// The decoders fill an out-parameter and return the error; these give both at once.
struct Request {
    framing::RequestHeader header;
    std::string error;
};
Request request(std::string_view text, std::uint64_t limit) {
    Request r;
    r.error = framing::decode_request_header(text, limit, r.header);
    return r;
}
struct Reply {
    framing::ReplyHeader header;
    std::string error;
};
Reply reply(std::string_view text, std::uint64_t limit) {
    Reply r;
    r.error = framing::decode_reply_header(text, limit, r.header);
    return r;
}

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

// framing_test takes no arguments: --help (or -h) prints the usage and exits 0; anything else is a usage error.
inline int usage(const std::string& argument) {
    const char* usage_line = "usage: framing_test   (runs the unit tests of framing.h; no arguments)\n";
    if (argument == "--help" || argument == "-h") {
        std::fputs(usage_line, stdout);
        return 0;
    }
    std::fprintf(stderr, "framing_test: unexpected argument %s\n%s", ::quoted(argument).c_str(), usage_line);
    return 2;
}
