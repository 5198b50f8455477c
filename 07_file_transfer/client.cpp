// Lesson 07 — upload client: sends one file with a dict header and waits for the server's verdict.
//
// Usage:    ./client [--progress] [--wait SECONDS] FILE [host] [port]      default wait 90 s, 127.0.0.1 9999
// Partner:  ./server [--dir DIR] [--overwrite] [host] [port]
// Mirrors:  tutorial 001 文件传输实例 (file_send.py) and 004 end (先收报头…用字典的方法来打包报头, the receiving side of it).
//
// file_send.py sends line by line, waits for b'success' after each line and
// ends with b'quit'. Here: one header {"filename", "size", "digest"}, the raw
// bytes in big chunks (hashed with XXH3-128 on the way, never the whole file in
// memory), a trailer with the digest, then the verdict. Exit 0 only if the server confirms.
// Build alone: g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -o client client.cpp -lxxhash

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <vector>

#include "helpers.h"
#include "protocol.h"
#include "command_line.h"
#include "quoted.h"
#include "time_limits.h"

constexpr std::size_t kChunkSize = 256 * 1024;  // one read/hash/send per 256 KiB, hashed while still in the CPU cache
constexpr const char* kUsage = "client [--progress] [--wait SECONDS] FILE [host] [port]   (default wait 90, 127.0.0.1 9999)";
using Clock = std::chrono::steady_clock;

// A missing or false field counts as "no".
bool says_true(const json& reply, const char* key) { return reply.is_object() && reply.contains(key) && reply[key] == true; }

[[noreturn]] void fail(const std::string& problem) {
    std::fprintf(stderr, "client: %s\n", problem.c_str());
    std::exit(1);
}

// A server that goes silent (never answers, or stops reading what we send) must not hang us:
// set_silence_limit (in main) makes a recv or send that makes no progress for --wait seconds
// fail with EAGAIN, and silence_or says so. Any other failure is reported as it is.
[[noreturn]] void network_failure(const std::string& problem, double wait) { fail(silence_or(problem, wait)); }

// The server's reply: a flat JSON object, or a clear refusal. parse_object (protocol.h) stops
// at the first container nested deeper than a flat object, before building anything.
json parse_reply(const std::string& frame) {
    std::string error;
    json reply = parse_object(frame, error);
    if (reply.is_discarded()) {  // show its start, quoted: none of its bytes reaches the terminal raw
        const bool cut = frame.size() > 80;
        fail("the server's reply " + error + ": " + quoted(frame.substr(0, 80)) + (cut ? "..." : ""));
    }
    return reply;
}

// Printed re-encoded with every non-ASCII character as \uXXXX, so that no character the
// server chose (U+202E, C1 controls) can steer the terminal.
void print_reply(const json& reply) { std::printf("server: %s\n", reply.dump(-1, ' ', /*ensure_ascii=*/true).c_str()); }

// "  12.0 / 100.0 MiB  12%  345.6 MB/s" on stderr, redrawn in place at most 10 times a second.
void show_progress(std::uint64_t done, std::uint64_t total, Clock::time_point start, bool last) {
    static Clock::time_point shown;
    const auto now = Clock::now();
    if (!last && now - shown < std::chrono::milliseconds(100)) return;
    shown = now;
    const double seconds = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr, "\r%8.1f / %.1f MiB %3d%% %8.1f MB/s%s", done / 1048576.0, total / 1048576.0,
                 total ? static_cast<int>(100 * done / total) : 100, seconds > 0 ? done / seconds / 1e6 : 0.0,
                 last ? "\n" : "");
}

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("client", kUsage, argc, argv, {"--progress", "--wait SECONDS"}, 3);
    std::string host = "127.0.0.1";
    std::uint16_t port = 9999;  // ip_port = ('127.0.0.1', 9999)
    bool progress = ::isatty(STDERR_FILENO);  // a bar where a person is watching, or with --progress
    double wait = 90;  // longer than the server's own --idle-timeout (60 s): it gives up first and says why
    for (const auto& [option, value] : line.options) {
        if (option == "--progress") progress = true;
        if (option == "--wait") wait = parse_seconds("client", kUsage, option, value);
    }
    if (line.positional.empty()) usage_error("client", kUsage, "which FILE?");
    const std::string path = line.positional[0];
    if (line.positional.size() > 1) host = line.positional[1];
    if (line.positional.size() > 2) port = parse_port("client", line.positional[2], /*zero_allowed=*/false, kUsage);
    ::signal(SIGPIPE, SIG_IGN);  // stdout read by a program that went away: a failed printf, not death

    // The file first (with open(...,'rb') as f): its size and plain name go in the header.
    // O_NONBLOCK: opening a FIFO (or a device) could wait forever for a writer; opened this
    // way it returns at once, fstat says what it is, and only a regular file goes on.
    Fd file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
    struct stat info {};
    if (file.fd < 0 || ::fstat(file.fd, &info) < 0) fail(path + ": " + std::strerror(errno));
    if (!S_ISREG(info.st_mode)) fail(path + ": not a regular file");
    if (::fcntl(file.fd, F_SETFL, ::fcntl(file.fd, F_GETFL) & ~O_NONBLOCK) < 0) fail(path + ": " + std::strerror(errno));
    UploadHeader header{path.substr(path.find_last_of('/') + 1), static_cast<std::uint64_t>(info.st_size)};
    if (const auto problem = file_name_problem(header.filename)) fail(path + ": " + *problem);
    std::string header_json;
    try {
        header_json = encode_header(header);
    } catch (const json::type_error&) {  // JSON strings are UTF-8
        fail(path + ": file name is not valid UTF-8");
    }

    Fd sock{::socket(AF_INET, SOCK_STREAM, 0)};  // 1. socket
    if (sock.fd < 0) die("client: socket");
    const sockaddr_in server = ipv4_address("client", host, port);  // 2. connect
    if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) die("client: connect");
    if (!set_silence_limit(sock.fd, wait)) die("client: setsockopt");

    // 3. send the header, and wait for the go-ahead: a refused upload (bad name,
    //    file exists) costs one round trip instead of the whole file.
    std::string frame, error;
    errno = 0;  // afterwards, EAGAIN can only come from the --wait limit
    if (!send_frame(sock.fd, header_json)) network_failure(std::string("send: ") + std::strerror(errno), wait);
    if (!recv_frame(sock.fd, kMaxHeaderSize, frame, error)) network_failure(error, wait);
    json reply = parse_reply(frame);
    if (!says_true(reply, "ok") || !says_true(reply, "ready")) {
        print_reply(reply);
        return 1;
    }

    // 4. send the bytes: read a chunk, hash it, send it (never the whole file in memory)
    std::vector<char> chunk(kChunkSize);
    Digest digest;
    const auto start = Clock::now();
    for (std::uint64_t done = 0; done < header.size;) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, header.size - done));
        const ssize_t got = ::read(file.fd, chunk.data(), want);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail(path + ": read: " + std::strerror(errno));
        if (got == 0) fail(path + ": the file got shorter while it was being sent");
        digest.update(chunk.data(), static_cast<std::size_t>(got));
        if (!send_all(sock.fd, chunk.data(), static_cast<std::size_t>(got)))
            network_failure(std::string("send: ") + std::strerror(errno), wait);
        done += static_cast<std::uint64_t>(got);
        if (progress) show_progress(done, header.size, start, done == header.size);
    }
    // 5. the trailer: what we sent, according to us
    if (!send_frame(sock.fd, encode_trailer(digest.hex())))
        network_failure(std::string("send: ") + std::strerror(errno), wait);

    // 6. recv the verdict; success only if the server says so about the bytes we hashed
    errno = 0;
    if (!recv_frame(sock.fd, kMaxHeaderSize, frame, error)) network_failure(error, wait);
    reply = parse_reply(frame);
    print_reply(reply);
    if (!says_true(reply, "ok") || reply["digest"] != digest.hex()) return 1;
    std::printf("uploaded %s: %llu bytes, xxh3-128 %s\n", header.filename.c_str(),
                static_cast<unsigned long long>(header.size), digest.hex().c_str());
    return 0;  // 7. close: sock and file close themselves
}
