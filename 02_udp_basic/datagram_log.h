// datagram_log.h — lesson 02: the one line the server and the client print for each datagram.
//
// `recvfrom -> 12 bytes from 127.0.0.1:50140: "hello socket"` — the tutorial prints only the data
// (`print(data.decode('utf-8'))`); ours also says how long it was and who sent it, and quotes it,
// so that one datagram is one line, an empty one shows as "", and no byte can drive the terminal.
// Not needed to follow the tutorial's calls.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "socket_core.h"
#include "quoted.h"

// What one sendto sent: `sendto -> 12 bytes to 127.0.0.1:9939: "hello socket"`.
inline void print_sent(std::size_t size, const sockaddr_in& to, std::string_view bytes) {
    std::printf("sendto -> %zu bytes to %s: %s\n", size, to_string(to).c_str(), quoted(bytes).c_str());
    std::fflush(stdout);
}

// What one recvfrom received. With MSG_TRUNC (Linux) recvfrom returns the datagram's real `size`
// even when only `kept` bytes fitted in the buffer: then the line says the rest is lost.
inline void print_received(std::size_t size, const sockaddr_in& from, const char* buf, std::size_t kept) {
    std::string line = "recvfrom -> " + std::to_string(size) + " bytes from " + to_string(from);
    if (kept < size) line += " (truncated to " + std::to_string(kept) + ": the rest is lost)";
    std::printf("%s: %s\n", line.c_str(), quoted(std::string_view(buf, kept)).c_str());
    std::fflush(stdout);
}
