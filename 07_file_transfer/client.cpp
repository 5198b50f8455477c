// Lesson 07 — upload client: sends one file with a dict header and waits for the server's verdict.
//
// Usage:    ./client [--progress] [--wait SECONDS] FILE [host] [port]      default wait 90 s, 127.0.0.1 9999
// Partner:  ./server [--dir DIR] [--overwrite] [host] [port]
// Mirrors:  tutorial 001 文件传输实例 (file_send.py) and 004 end (先收报头…用字典的方法来打包报头, the sending side of it).
//
// file_send.py sends line by line, waits for b'success' after each line and ends with b'quit'.
// Here: one header {"filename", "size", "digest"}, the raw bytes in big chunks (hashed with
// XXH3-128 on the way, never the whole file in memory), a trailer with the digest, then the
// verdict. Exit 0 only if the server confirms. The frames are in frames.h, the file in file_to_send.h.
// Build alone: g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -o client client.cpp -lxxhash

#include <signal.h>

#include "command_line.h"
#include "file_to_send.h"
#include "frames.h"
#include "time_limits.h"

constexpr const char* kUsage = "client [--progress] [--wait SECONDS] FILE [host] [port]   (default wait 90, 127.0.0.1 9999)";

struct Options {
    std::string path, host = "127.0.0.1";
    std::uint16_t port = 9999;  // ip_port = ('127.0.0.1',9999)
    bool progress = ::isatty(STDERR_FILENO);  // a bar where a person is watching, or with --progress
    double wait = 90;  // longer than the server's own --idle-timeout (60 s): it gives up first and says why
};
Options parse_options(int argc, char* argv[]);  // below main

int main(int argc, char* argv[]) {
    const Options options = parse_options(argc, argv);
    ::signal(SIGPIPE, SIG_IGN);  // stdout read by a program that went away: a failed printf, not death

    Fd sk{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};  // sk = socket.socket()
    if (sk.fd < 0) die("client: socket");
    // with open(path,'rb') as f — opened before connecting: a FILE we could not send (missing, a
    // FIFO, a name the server would refuse) costs no connection and is said at once.
    FileToSend f = open_file_to_send(options.path);
    const sockaddr_in ip_port = ipv4_address("client", options.host, options.port);
    if (::connect(sk.fd, reinterpret_cast<const sockaddr*>(&ip_port), sizeof ip_port) < 0)  // sk.connect(ip_port)
        die("client: connect");
    if (!set_silence_limit(sk.fd, options.wait)) die("client: setsockopt");

    // 先发报头 (004): name and size, then wait for the go-ahead: a refused upload (a bad name,
    // the file exists) costs one round trip instead of the whole file.
    send_frame(sk.fd, encode_header(f.header), options.wait);
    json reply = recv_reply(sk.fd, options.wait);
    if (!says_true(reply, "ok") || !says_true(reply, "ready")) {
        print_reply(reply);
        return 1;
    }
    // for i in f: sk.send(i) — the bytes in 256 KiB chunks, hashed on the way; then the trailer:
    // what we sent, according to us
    const std::string digest = send_file_body(sk.fd, f, options.path, options.progress, options.wait);
    send_frame(sk.fd, encode_trailer(digest), options.wait);

    // data = sk.recv(1024): the verdict; success only if the server says so about the bytes we hashed
    reply = recv_reply(sk.fd, options.wait);
    print_reply(reply);
    if (!says_true(reply, "ok") || reply["digest"] != digest) return 1;
    std::printf("uploaded %s: %llu bytes, xxh3-128 %s\n", f.header.filename.c_str(),
                static_cast<unsigned long long>(f.header.size), digest.c_str());
    return 0;  // sk and f close themselves
}

Options parse_options(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {"--progress", "--wait SECONDS"}, 3);
    Options options;
    for (const auto& [option, value] : line.options) {
        if (option == "--progress") options.progress = true;
        if (option == "--wait") options.wait = parse_seconds("client", kUsage, option, value);
    }
    if (line.positional.empty()) usage_error("client", kUsage, "which FILE?");
    options.path = line.positional[0];
    if (line.positional.size() > 1) options.host = line.positional[1];
    if (line.positional.size() > 2) options.port = parse_port("client", line.positional[2], /*zero_allowed=*/false, kUsage);
    return options;
}
