// raw_copy_07 — the yardstick for lesson 07's upload benchmark (not a lesson program).
//
// Copies one file through a plain loopback TCP connection into a file, with
// exactly the I/O the lesson's client and server do, and nothing else: no
// header, no go-ahead, no hashing, no trailer, no verdict, no checks.
//
//   receiver (like server.cpp): recv() into one 256 KiB buffer, write() it, ask
//     for write-back with sync_file_range(SYNC_FILE_RANGE_WRITE) every 8 MiB,
//     then fsync(file), rename() into place, fsync(dir), and a 1-byte ack;
//   sender (like client.cpp): read() 256 KiB, send() it, until the end of the file;
//     or, with --sendfile, sendfile() (no copy to user space on the sending side).
//
// Usage:  raw_copy_07 receive DIR [--chunk BYTES] [--writeback BYTES]
//             prints "listening on 127.0.0.1:PORT", takes one file into DIR/raw-copy.bin, exits
//         raw_copy_07 send FILE PORT [--chunk BYTES] [--sendfile]
//             sends FILE to 127.0.0.1:PORT and exits 0 once the receiver's ack came
// Used by harness/bench/bench_07_file_transfer.py; built by harness/bench/CMakeLists.txt.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// The lesson's values (07_file_transfer/server.cpp and client.cpp); the benchmark
// may pass others to see what they change.
std::size_t chunk_size = 256 * 1024;
std::uint64_t writeback_step = 8 << 20;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "raw_copy_07: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: raw_copy_07 receive DIR [--chunk BYTES] [--writeback BYTES]\n"
                 "       raw_copy_07 send FILE PORT [--chunk BYTES] [--sendfile]\n");
    std::exit(2);
}

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) die("write");
        data += written;
        size -= static_cast<std::size_t>(written);
    }
}

void send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) die("send");
        data += sent;
        size -= static_cast<std::size_t>(sent);
    }
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return address;
}

int receive(const std::string& dir) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    const sockaddr_in address = loopback(0);
    if (::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("bind");
    if (::listen(listener, 1) < 0) die("listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("getsockname");
    std::printf("listening on 127.0.0.1:%u\n", ntohs(bound.sin_port));
    std::fflush(stdout);
    const int conn = ::accept(listener, nullptr, nullptr);
    if (conn < 0) die("accept");

    const std::string temp = dir + "/.raw-copy.tmp", final_path = dir + "/raw-copy.bin";
    const int file = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (file < 0) die(temp);
    std::vector<char> chunk(chunk_size);
    std::uint64_t done = 0, written_back = 0;
    for (;;) {
        const ssize_t received = ::recv(conn, chunk.data(), chunk.size(), 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) die("recv");
        if (received == 0) break;  // the sender's shutdown(SHUT_WR): the whole file is here
        write_all(file, chunk.data(), static_cast<std::size_t>(received));
        done += static_cast<std::uint64_t>(received);
        if (writeback_step > 0 && done - written_back >= writeback_step) {  // as server.cpp does
            ::sync_file_range(file, static_cast<off_t>(written_back), static_cast<off_t>(done - written_back),
                              SYNC_FILE_RANGE_WRITE);
            written_back = done;
        }
    }
    if (::fsync(file) < 0) die("fsync");
    if (::close(file) < 0) die("close");
    if (::rename(temp.c_str(), final_path.c_str()) < 0) die("rename");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd < 0 || ::fsync(dir_fd) < 0) die("fsync " + dir);
    ::close(dir_fd);
    send_all(conn, "k", 1);  // durable now: the sender may stop its clock
    ::close(conn);
    ::close(listener);
    return 0;
}

int send(const std::string& path, std::uint16_t port, bool use_sendfile) {
    const int file = ::open(path.c_str(), O_RDONLY);
    struct stat info {};
    if (file < 0 || ::fstat(file, &info) < 0) die(path);
    const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0) die("socket");
    const sockaddr_in address = loopback(port);
    if (::connect(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("connect");

    const auto size = static_cast<std::uint64_t>(info.st_size);
    std::vector<char> chunk(use_sendfile ? 0 : chunk_size);
    for (std::uint64_t done = 0; done < size;) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, size - done));
        const ssize_t got = use_sendfile ? ::sendfile(sock, file, nullptr, want) : ::read(file, chunk.data(), want);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) die(use_sendfile ? "sendfile" : "read");
        if (got == 0) die(path + " got shorter");
        if (!use_sendfile) send_all(sock, chunk.data(), static_cast<std::size_t>(got));
        done += static_cast<std::uint64_t>(got);
    }
    if (::shutdown(sock, SHUT_WR) < 0) die("shutdown");
    char ack = 0;
    const ssize_t got = ::recv(sock, &ack, 1, 0);
    if (got != 1 || ack != 'k') {
        std::fprintf(stderr, "raw_copy_07: no ack from the receiver\n");
        return 1;
    }
    ::close(sock);
    ::close(file);
    return 0;
}

int main(int argc, char* argv[]) {
    std::vector<std::string> positional;
    bool use_sendfile = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--sendfile") {
            use_sendfile = true;
        } else if ((arg == "--chunk" || arg == "--writeback") && i + 1 < argc) {
            const unsigned long long value = std::strtoull(argv[++i], nullptr, 10);
            if (arg == "--chunk") {
                if (value == 0) usage();
                chunk_size = static_cast<std::size_t>(value);
            } else {
                writeback_step = value;  // 0: no sync_file_range at all
            }
        } else if (arg.size() > 1 && arg[0] == '-') {
            usage();
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.size() == 2 && positional[0] == "receive") return receive(positional[1]);
    if (positional.size() == 3 && positional[0] == "send")
        return send(positional[1], static_cast<std::uint16_t>(std::atoi(positional[2].c_str())), use_sendfile);
    usage();
}
