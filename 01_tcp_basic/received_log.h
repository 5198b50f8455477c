// received_log.h — lesson 01's server: what it prints about the message it echoed.
//
// The tutorial's server prints what one recv(1024) returned (003 §二.5 例子, 服务端:
// `print(data.decode())`). Ours receives until the client is done and answers each piece as it
// comes, so it keeps only what that print would show, the first kBufSize bytes, and a count:
// a client sending 256 MiB costs the server 2 KiB, not 256 MiB. Not needed to follow the calls.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "quoted.h"

class ReceivedLog {
public:
    explicit ReceivedLog(std::size_t keep) : keep_(keep) {}

    void add(const char* piece, std::size_t size) {  // every piece recv() returned, in order
        first_.append(piece, std::min(size, keep_ - first_.size()));
        total_ += size;
    }

    // `received 12 bytes: "hello socket"`, or for a longer stream
    // `received 5000 bytes, the first 1024: "..."`; quoted, so no byte can drive the terminal.
    void print() const {
        const auto total = static_cast<unsigned long long>(total_);
        if (total_ > first_.size())
            std::printf("received %llu bytes, the first %zu: ", total, first_.size());
        else
            std::printf("received %llu bytes: ", total);
        std::printf("%s\n", quoted(first_).c_str());
    }

private:
    std::size_t keep_;
    std::string first_;        // the first keep_ bytes
    std::uint64_t total_ = 0;  // and how many came in all
};
