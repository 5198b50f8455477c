// helpers.h — what lesson 05's server.cpp and client.cpp share beyond socket_core.h:
// the four experiments and the command line that picks one.
#pragma once

#include <string>

#include "socket_core.h"

// The four experiments; both programs are given the same one.
//   send-side     情况一 发送方的缓存机制: two send()s, the first recv(10) gets both
//   receive-side  情况二 接收方的缓存机制: recv(2) gets "he", recv(10) the rest
//   nodelay       control: TCP_NODELAY, no waiting — the split is up to timing
//   udp           contrast: two sendto()s are two datagrams, never glued
enum class Case { SendSide, ReceiveSide, NoDelay, Udp };

inline Case parse_case(const char* program, const std::string& name, const char* usage) {
    if (name == "send-side") return Case::SendSide;
    if (name == "receive-side") return Case::ReceiveSide;
    if (name == "nodelay") return Case::NoDelay;
    if (name == "udp") return Case::Udp;
    usage_error(program, usage, "--case wants send-side, receive-side, nodelay or udp");
}

// The command line both programs share: [host] [port] [--case CASE], default 127.0.0.1 8000 send-side.
struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;  // server.bind(('192.168.3.21', 8000)) in 002 §4.1
    Case which = Case::SendSide;
};
inline Options parse_options(const char* program, int argc, char* argv[], bool zero_port_allowed,
                             const char* usage) {
    const CommandLine line = parse_command_line(program, usage, argc, argv, {"--case CASE"}, 2);
    Options options;
    for (const auto& [option, value] : line.options) options.which = parse_case(program, value, usage);  // --case
    if (line.positional.size() > 0) options.host = line.positional[0];
    if (line.positional.size() > 1) options.port = parse_port(program, line.positional[1], zero_port_allowed, usage);
    return options;
}
