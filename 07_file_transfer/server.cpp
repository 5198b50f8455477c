// Lesson 07 — upload server: receives files whole, verified and atomically into one folder.
//
// Usage:    ./server [--dir DIR] [--overwrite] [--idle-timeout SECONDS] [host] [port]
//           default DIR ./received (created if missing), idle timeout 60 s, 127.0.0.1 9999;
//           port 0 = any free port
// Partner:  ./client [--progress] FILE [host] [port]
// Mirrors:  tutorial 001 文件传输实例 (file_receive.py) and 004 end (下载文件…先收报头…用字典的方法来打包报头).
//
// file_receive.py appends every recv() to 'file' until a chunk equals b'quit'. Here a dict
// header says name and size, the bytes go into a temporary file, and only a complete file whose
// XXH3-128 digest matches gets its real name. One upload after another (链接循环); the protocol
// is in protocol.h, one upload's phases in upload.h. One client at a time, so every wait has a
// bound and a stop signal (SIGINT, SIGTERM, SIGHUP ...) ends any of them, the upload in
// progress removed first (deadlines.h).
// Build alone: g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -o server server.cpp -lxxhash

#include <cmath>

#include "accept_backoff.h"
#include "command_line.h"
#include "deadlines.h"
#include "upload.h"

constexpr int kBacklog = 5;  // sk.listen(5)
constexpr const char* kUsage =
    "server [--dir DIR] [--overwrite] [--idle-timeout SECONDS] [host] [port]   "
    "(default ./received, 60 s, 127.0.0.1 9999; port 0 = any free port)";

struct Options {
    std::string dir = "received", host = "127.0.0.1";
    std::uint16_t port = 9999;  // ip_port = ('127.0.0.1',9999)
    bool overwrite = false;
    milliseconds idle{60000};
};
Options parse_options(int argc, char* argv[]);  // below main

int main(int argc, char* argv[]) {
    const Options options = parse_options(argc, argv);
    ::signal(SIGPIPE, SIG_IGN);  // a log reader that went away (`server | head -1`): a lost line, not death
    ::signal(SIGXFSZ, SIG_IGN);  // over `ulimit -f`: let write() fail with EFBIG, do not kill the server
    block_stop_signals();        // from now on they end a wait, never the process (deadlines.h)
    const UploadFolder folder = open_upload_folder(options.dir);  // created if missing; stale files removed

    Fd sk{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};  // sk = socket.socket()
    if (sk.fd < 0) die("server: socket");
    const int on = 1;  // bind again at once after a restart (004: phone.setsockopt(...SO_REUSEADDR,1))
    if (::setsockopt(sk.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    const sockaddr_in ip_port = ipv4_address("server", options.host, options.port);
    if (::bind(sk.fd, reinterpret_cast<const sockaddr*>(&ip_port), sizeof ip_port) < 0)  // sk.bind(ip_port)
        die("server: bind");
    if (::listen(sk.fd, kBacklog) < 0) die("server: listen");  // sk.listen(5)
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(sk.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");

    try {
        log_line("listening on " + to_string(bound));
        for (const std::string& name : folder.removed)
            log_line("removed " + quoted(name) + ", left behind by a server that died");
        for (;;) {  // 链接循环: one upload after another
            wait_for_client(sk.fd);  // or a stop signal
            sockaddr_in address{};
            socklen_t address_len = sizeof address;
            int fd;
            do {  // conn, address = sk.accept(); EINTR: call it again at once
                fd = ::accept4(sk.fd, reinterpret_cast<sockaddr*>(&address), &address_len, SOCK_CLOEXEC);
            } while (fd < 0 && errno == EINTR);
            Fd conn{fd};
            if (conn.fd < 0) {
                accept_failed("server");  // out of descriptors: a pause, not a spin (accept_backoff.h)
                continue;
            }
            log_line("upload from " + to_string(address));  // print("文件接收开始")
            Upload upload{conn.fd, options.idle, folder, options.overwrite};  // its deadlines: upload.h
            const bool saved = upload.recv_header()      // 先收报头: name and size; a refusal costs one round trip
                               && upload.open_file()     // with open('file','ab') as f: a temporary file; the go-ahead
                               && upload.recv_body()     // data = conn.recv(1024); f.write(data): `size` bytes, hashed
                               && upload.recv_trailer()  // the client's digest of them must be ours
                               && upload.save();         // only now the file gets its name
            upload.send_verdict(saved);                  // conn.send('success'.encode()), or why not
        }  // the connection closes itself (conn) at the end of each round; a refused upload leaves no file
    } catch (const Stop& stop) {  // the upload in progress (if any) is gone by now: ~TempFile
        log_last_line("stopped by " + stop.name());
    }
    return 0;  // sk.close(): sk closes itself
}

Options parse_options(int argc, char* argv[]) {
    const CommandLine line =
        parse_command_line("server", kUsage, argc, argv, {"--dir DIR", "--overwrite", "--idle-timeout SECONDS"}, 2);
    Options options;
    for (const auto& [option, value] : line.options) {
        if (option == "--dir") options.dir = value;
        if (option == "--overwrite") options.overwrite = true;
        if (option == "--idle-timeout")
            options.idle = milliseconds(static_cast<long long>(std::ceil(parse_seconds("server", kUsage, option, value) * 1000)));
    }
    if (line.positional.size() > 0) options.host = line.positional[0];
    if (line.positional.size() > 1) options.port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    return options;
}
