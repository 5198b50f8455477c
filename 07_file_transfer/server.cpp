// Lesson 07 — upload server: receives files whole, verified and atomically into one folder.
//
// Usage:    ./server [--dir DIR] [--overwrite] [host] [port]
//           default DIR ./received (created if missing), 127.0.0.1 9999; port 0 = any free port
// Partner:  ./client [--progress] FILE [host] [port]
// Mirrors:  tutorial 001 文件传输实例 (file_receive.py) and 004 end (下载文件…先收报头…用字典的方法来打包报头).
//
// file_receive.py appends every recv() to 'file' until a chunk equals b'quit'.
// Here a dict header says name and size, the bytes go into a temporary file,
// and only a complete file whose XXH3-128 digest matches gets its real name
// (rename/link are atomic). One upload after another (链接循环), protocol in protocol.h.
// Build alone: g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -o server server.cpp -lxxhash

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <vector>

#include "helpers.h"
#include "protocol.h"

constexpr int kBacklog = 5;                    // sk.listen(5)
constexpr std::size_t kChunkSize = 256 * 1024;  // the tutorial's 1024 costs a syscall per KiB; 256 KiB stays in cache
constexpr std::uint64_t kWritebackStep = 8 << 20;  // start writing to disk every 8 MiB (see below)
constexpr int kIdleSeconds = 30;                // a silent client may not hold the only line forever
constexpr const char* kUsage =
    "server [--dir DIR] [--overwrite] [host] [port]   (default ./received 127.0.0.1 9999; port 0 = any free port)";

json failure(const std::string& error) { return {{"ok", false}, {"error", error}}; }
std::string errno_text(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// One upload on `conn`: header, go-ahead, body, trailer. Returns the verdict.
json receive_upload(int conn, const std::string& dir, int dir_fd, bool overwrite) {
    std::string frame, error;
    if (!recv_frame(conn, kMaxHeaderSize, frame, error)) return failure("header: " + error);
    const auto header = decode_header(frame, error);      // 先收报头: name, size, digest
    if (!header) return failure(error);
    std::printf("receiving %s (%llu bytes)\n", header->filename.c_str(), static_cast<unsigned long long>(header->size));
    std::fflush(stdout);
    struct stat existing {};
    if (!overwrite && ::fstatat(dir_fd, header->filename.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0)
        return failure(header->filename + " already exists (the server was not started with --overwrite)");

    TempFile temp;  // mkstemp: a new name nobody else has, opened O_CREAT|O_EXCL, in the same folder
    std::string path = dir + "/" + kTempPrefix + "XXXXXX";
    temp.file.fd = ::mkstemp(path.data());
    if (temp.file.fd < 0) return failure(errno_text("mkstemp"));
    temp.path = path;
    const mode_t umask_now = ::umask(0);  // mkstemp makes 0600; give the file what open() would
    ::umask(umask_now);
    if (::fchmod(temp.file.fd, 0666 & ~umask_now) < 0) return failure(errno_text("fchmod"));
    if (!send_frame(conn, json{{"ok", true}, {"ready", true}}.dump())) return failure(errno_text("send"));

    // Body: exactly `size` bytes, hashed and written as they come. After a write
    // error keep reading (and discarding) so that the client can hear why.
    std::vector<char> chunk(kChunkSize);
    Digest digest;
    std::string write_error;
    std::uint64_t written_back = 0;
    for (std::uint64_t done = 0; done < header->size;) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, header->size - done));
        const ssize_t received = ::recv(conn, chunk.data(), want, 0);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) return failure(errno_text("recv"));
        if (received == 0)
            return failure("connection closed after " + std::to_string(done) + " of " + std::to_string(header->size) + " bytes");
        digest.update(chunk.data(), static_cast<std::size_t>(received));
        if (write_error.empty() && !write_all(temp.file.fd, chunk.data(), static_cast<std::size_t>(received))) {
            write_error = errno_text("write");
            // give a full disk its space back now, not at the end of the upload
            if (::ftruncate(temp.file.fd, 0) < 0) write_error += ", " + errno_text("ftruncate");
        }
        done += static_cast<std::uint64_t>(received);
        // Ask the kernel to start writing what we have so far to disk now, in the
        // background, so that the fsync() at the end has little left to wait for.
        if (done - written_back >= kWritebackStep && write_error.empty()) {
            ::sync_file_range(temp.file.fd, static_cast<off_t>(written_back), static_cast<off_t>(done - written_back),
                              SYNC_FILE_RANGE_WRITE);  // a hint: the fsync() below still checks everything
            written_back = done;
        }
    }
    if (!recv_frame(conn, kMaxTrailerSize, frame, error)) return failure("trailer: " + error);
    const auto sent_digest = decode_trailer(frame);
    if (!sent_digest) return failure("trailer is not {\"digest\": \"<32 hex digits>\"}");
    if (!write_error.empty()) return failure(write_error);
    const std::string received_digest = digest.hex();
    if (*sent_digest != received_digest)
        return failure("digest mismatch: client sent " + *sent_digest + ", server received " + received_digest);

    // Commit: data on disk first, then the name. link() refuses to replace an existing
    // name (no check-then-act race); rename() replaces atomically. Then the folder's fsync
    // makes the new name itself survive a crash.
    if (::fsync(temp.file.fd) < 0) return failure(errno_text("fsync"));
    const std::string final_path = dir + "/" + header->filename;
    if (overwrite) {
        if (::rename(temp.path.c_str(), final_path.c_str()) < 0) return failure(errno_text("rename"));
        temp.path.clear();
    } else if (::link(temp.path.c_str(), final_path.c_str()) < 0) {
        return failure(errno == EEXIST ? header->filename + " already exists" : errno_text("link"));
    }  // (after link, TempFile's destructor unlinks the temporary name)
    if (::fsync(dir_fd) < 0) return failure(errno_text("fsync"));
    return {{"ok", true}, {"filename", header->filename}, {"size", header->size}, {"digest", received_digest}};
}

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("server", kUsage, argc, argv, {"--dir DIR", "--overwrite"}, 2);
    std::string dir = "received", host = "127.0.0.1";
    std::uint16_t port = 9999;  // ip_port = ('127.0.0.1', 9999)
    bool overwrite = false;
    for (const auto& [option, value] : line.options) {
        if (option == "--dir") dir = value;
        if (option == "--overwrite") overwrite = true;
    }
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    ::signal(SIGXFSZ, SIG_IGN);  // over `ulimit -f`: let write() fail with EFBIG, do not kill the server

    if (::mkdir(dir.c_str(), 0777) < 0 && errno != EEXIST) die(("server: mkdir " + dir).c_str());
    Fd dir_fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY)};
    if (dir_fd.fd < 0) die(("server: " + dir).c_str());

    Fd listener{::socket(AF_INET, SOCK_STREAM, 0)};  // 1. socket
    if (listener.fd < 0) die("server: socket");
    const int on = 1;
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    const sockaddr_in address = ipv4_address("server", host, port);  // 2. bind
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    if (::listen(listener.fd, kBacklog) < 0) die("server: listen");  // 3. listen
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s\n", to_string(bound).c_str());
    std::fflush(stdout);

    for (;;) {  // 链接循环: one upload after another
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len)};  // 4. accept
        if (conn.fd < 0) {
            if (errno != EINTR) std::fprintf(stderr, "server: accept: %s\n", std::strerror(errno));
            continue;
        }
        const timeval idle{kIdleSeconds, 0};
        if (::setsockopt(conn.fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle) < 0)
            std::fprintf(stderr, "server: setsockopt: %s\n", std::strerror(errno));
        std::printf("upload from %s\n", to_string(client).c_str());
        std::fflush(stdout);

        const json verdict = receive_upload(conn.fd, dir, dir_fd.fd, overwrite);  // 5. recv header, body, trailer
        if (verdict["ok"]) {
            std::printf("saved %s (%s bytes, xxh3-128 %s)\n", verdict["filename"].get<std::string>().c_str(),
                        verdict["size"].dump().c_str(), verdict["digest"].get<std::string>().c_str());
        } else {
            std::printf("refused: %s\n", verdict["error"].get<std::string>().c_str());
        }
        std::fflush(stdout);
        if (!send_frame(conn.fd, verdict.dump()))  // 6. send the verdict, if the client is still there
            std::printf("could not send the verdict: %s\n", std::strerror(errno));
        std::fflush(stdout);
    }  // 7. close: conn closes itself at the end of each round
}
