// Lesson 07 — upload server: receives files whole, verified and atomically into one folder.
//
// Usage:    ./server [--dir DIR] [--overwrite] [--idle-timeout SECONDS] [host] [port]
//           default DIR ./received (created if missing), idle timeout 60 s, 127.0.0.1 9999;
//           port 0 = any free port
// Partner:  ./client [--progress] FILE [host] [port]
// Mirrors:  tutorial 001 文件传输实例 (file_receive.py) and 004 end (下载文件…先收报头…用字典的方法来打包报头).
//
// file_receive.py appends every recv() to 'file' until a chunk equals b'quit'.
// Here a dict header says name and size, the bytes go into a temporary file,
// and only a complete file whose XXH3-128 digest matches gets its real name
// (rename/link are atomic). One upload after another (链接循环), protocol in protocol.h.
// One client at a time, so no client may hold the server: every wait has a bound (Conn),
// and SIGINT/SIGTERM stop it only after the upload in progress has been removed.
// Build alone: g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -o server server.cpp -lxxhash

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <memory>
#include <vector>

#include "helpers.h"
#include "protocol.h"
#include "command_line.h"
#include "quoted.h"

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kBacklog = 5;                    // sk.listen(5)
constexpr std::size_t kChunkSize = 256 * 1024;  // the tutorial's 1024 costs a syscall per KiB; 256 KiB stays in cache
constexpr std::uint64_t kWritebackStep = 8 << 20;  // start writing to disk every 8 MiB (see below)
constexpr std::uint64_t kMinRate = 64 * 1024;   // bytes/s on average: a body that comes slower is a drip
constexpr int kBackoffMs = 100;                 // out of descriptors: wait this long before accept() again
constexpr const char* kUsage =
    "server [--dir DIR] [--overwrite] [--idle-timeout SECONDS] [host] [port]   "
    "(default ./received, 60 s, 127.0.0.1 9999; port 0 = any free port)";

json failure(const std::string& error) { return {{"ok", false}, {"error", error}}; }
std::string errno_text(const char* call) { return std::string(call) + ": " + std::strerror(errno); }
std::string seconds_text(milliseconds time) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", static_cast<double>(time.count()) / 1000);
    return text;
}

// SIGINT or SIGTERM arrived. Thrown out of whatever wait the server is in, so that on the
// way to main() every destructor runs: TempFile's removes the upload in progress.
struct Stop {
    int signal;
};

// The server's only way to wait: poll() on `fd` (-1: none) and on the signalfd, for at most
// timeout_ms (-1: no limit). SIGINT and SIGTERM are blocked and arrive on the signalfd as
// data, so no handler interrupts our code half-way: stopping is ordinary code, run between two
// steps. Returns true when `fd` is ready; false when time is up (errno ETIMEDOUT) or poll fails.
bool wait_ready(int fd, short events, int signals, int timeout_ms) {
    pollfd fds[2] = {{fd, events, 0}, {signals, POLLIN, 0}};
    int ready;
    do {
        ready = ::poll(fds, 2, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return false;
    if (fds[1].revents & POLLIN) {
        signalfd_siginfo info{};
        const bool got = ::read(signals, &info, sizeof info) == sizeof info;
        throw Stop{got ? static_cast<int>(info.ssi_signo) : SIGTERM};
    }
    if (ready == 0) errno = ETIMEDOUT;
    return ready > 0;
}

// One client's connection, with its bounds: every wait ends after `idle` with nothing moving,
// and all of them by `deadline` (then `error` = `late`). recv/send are called only once poll()
// said they will not block, so the bounds hold for each call and for the upload as a whole.
struct Conn {
    int fd, signals;
    milliseconds idle;
    Clock::time_point deadline;
    std::string late;   // what to say when the deadline passes
    std::string error;  // why the last call failed

    bool wait(short events) {
        const auto now = Clock::now();
        const bool by_deadline = deadline < now + idle;
        const auto left = std::chrono::ceil<milliseconds>(by_deadline ? deadline - now : Clock::duration(idle));
        if (wait_ready(fd, events, signals, static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX))))
            return true;
        if (errno != ETIMEDOUT) error = errno_text("poll");
        else if (by_deadline) error = late;
        else error = (events == POLLIN ? "nothing received for " : "the client read nothing for ") + seconds_text(idle);
        return false;
    }
    // > 0 bytes, 0 at the end of the stream, -1 when time is up or recv() failed (`error` says which).
    ssize_t recv_some(char* data, std::size_t size) {
        for (;;) {
            if (!wait(POLLIN)) return -1;
            ssize_t received;
            do {  // EINTR: restart the call itself
                received = ::recv(fd, data, size, MSG_DONTWAIT);
            } while (received < 0 && errno == EINTR);
            if (received >= 0) return received;
            if (errno != EAGAIN) {
                error = errno_text("recv");
                return -1;
            }
        }
    }
    bool recv_exact(char* data, std::size_t size, const char* closed) {  // helpers.h's, with the bounds
        for (std::size_t got = 0; got < size;) {
            const ssize_t received = recv_some(data + got, size - got);
            if (received == 0) error = closed;
            if (received <= 0) return false;
            got += static_cast<std::size_t>(received);
        }
        return true;
    }
    bool recv_frame(std::size_t limit, std::string& body) {  // helpers.h's recv_frame, with the bounds
        char prefix[4];
        if (!recv_exact(prefix, sizeof prefix, "connection closed before a frame")) return false;
        const auto length = decode_frame_length(prefix, limit, error);
        if (!length) return false;
        body.assign(*length, '\0');
        return recv_exact(body.data(), *length, "connection closed inside a frame");
    }
    bool send_frame(const std::string& body) {  // a client that does not read is dropped after `idle`
        const std::string frame = encode_frame(body);
        for (std::size_t sent = 0; sent < frame.size();) {
            if (!wait(POLLOUT)) return false;
            ssize_t n;
            do {
                n = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            } while (n < 0 && errno == EINTR);
            if (n < 0 && errno != EAGAIN) {
                error = errno_text("send");
                return false;
            }
            if (n > 0) sent += static_cast<std::size_t>(n);
        }
        return true;
    }
};

// The temporary file of an upload in progress is locked (flock) by the server writing it. One
// that nobody holds was left by a server that died (SIGKILL, power cut): remove it. A try-lock
// that fails means another server on this folder is writing it right now: leave it alone.
// Returns the names removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir, int dir_fd) {
    const std::unique_ptr<DIR, int (*)(DIR*)> folder(::opendir(dir.c_str()), &::closedir);
    if (!folder) die(("server: " + dir).c_str());
    std::vector<std::string> removed;
    while (const dirent* entry = ::readdir(folder.get())) {
        const std::string name = entry->d_name;
        if (name.rfind(kTempPrefix, 0) != 0) continue;
        Fd file{::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
        if (file.fd < 0 || ::flock(file.fd, LOCK_EX | LOCK_NB) < 0) continue;
        if (::unlinkat(dir_fd, name.c_str(), 0) == 0) removed.push_back(name);
    }
    return removed;
}

// One upload on `conn`: header, go-ahead, body, trailer. Returns the verdict.
json receive_upload(Conn& conn, const std::string& dir, int dir_fd, bool overwrite) {
    std::string frame, error;
    // Each phase must come at kMinRate on average, after an idle period of grace: a drip of a
    // byte every 20 s keeps each recv() well inside `idle`, but not the whole upload.
    conn.deadline = Clock::now() + conn.idle + milliseconds(kMaxHeaderSize * 1000 / kMinRate);
    conn.late = "too slow (under " + std::to_string(kMinRate / 1024) + " KiB/s on average)";
    if (!conn.recv_frame(kMaxHeaderSize, frame)) return failure("header: " + conn.error);
    const auto header = decode_header(frame, error);      // 先收报头: name, size, digest
    if (!header) return failure(error);
    std::printf("receiving %s (%llu bytes)\n", quoted(header->filename).c_str(), static_cast<unsigned long long>(header->size));
    std::fflush(stdout);
    struct stat existing {};
    if (!overwrite && ::fstatat(dir_fd, header->filename.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0)
        return failure(header->filename + " already exists (the server was not started with --overwrite)");

    TempFile temp;
    for (;;) {  // mkostemp: a new name nobody else has, opened O_CREAT|O_EXCL, in the same folder
        std::string path = dir + "/" + kTempPrefix + "XXXXXX";
        temp.file.fd = ::mkostemp(path.data(), O_CLOEXEC);
        if (temp.file.fd < 0) return failure(errno_text("mkostemp"));
        temp.path = path;
        // Locked while we write it (see remove_stale_temporaries). If a server starting up
        // removed it in the instant before flock(), it has lost its name: make another.
        struct stat info {};
        if (::flock(temp.file.fd, LOCK_EX) < 0 || ::fstat(temp.file.fd, &info) < 0) return failure(errno_text("flock"));
        if (info.st_nlink > 0) break;
        temp.path.clear();
        ::close(std::exchange(temp.file.fd, -1));
    }
    const mode_t umask_now = ::umask(0);  // mkostemp makes 0600; give the file what open() would
    ::umask(umask_now);
    if (::fchmod(temp.file.fd, 0666 & ~umask_now) < 0) return failure(errno_text("fchmod"));
    if (!conn.send_frame(json{{"ok", true}, {"ready", true}}.dump())) return failure(conn.error);

    // Body: exactly `size` bytes, hashed and written as they come. After a write
    // error keep reading (and discarding) so that the client can hear why.
    // The body: `done` bytes must be in by idle + done / kMinRate after the go-ahead.
    const auto start = Clock::now();
    std::vector<char> chunk(kChunkSize);
    Digest digest;
    std::string write_error;
    std::uint64_t written_back = 0;
    for (std::uint64_t done = 0; done < header->size;) {
        conn.deadline = start + conn.idle + milliseconds(done * 1000 / kMinRate);
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, header->size - done));
        const ssize_t received = conn.recv_some(chunk.data(), want);
        if (received <= 0)
            return failure((received == 0 ? "connection closed" : conn.error) + " after " + std::to_string(done) +
                           " of " + std::to_string(header->size) + " bytes");
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
    conn.deadline = start + conn.idle + milliseconds(header->size * 1000 / kMinRate);
    if (!conn.recv_frame(kMaxTrailerSize, frame)) return failure("trailer: " + conn.error);
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
    const CommandLine line =
        parse_command_line("server", kUsage, argc, argv, {"--dir DIR", "--overwrite", "--idle-timeout SECONDS"}, 2);
    std::string dir = "received", host = "127.0.0.1";
    std::uint16_t port = 9999;  // ip_port = ('127.0.0.1', 9999)
    bool overwrite = false;
    milliseconds idle{60000};
    for (const auto& [option, value] : line.options) {
        if (option == "--dir") dir = value;
        if (option == "--overwrite") overwrite = true;
        if (option == "--idle-timeout")
            idle = milliseconds(static_cast<long long>(std::ceil(parse_seconds("server", kUsage, option, value) * 1000)));
    }
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    ::signal(SIGXFSZ, SIG_IGN);  // over `ulimit -f`: let write() fail with EFBIG, do not kill the server
    ::signal(SIGPIPE, SIG_IGN);  // a log reader that went away (`server | head -1`): a failed printf, not death
    // SIGINT (Ctrl-C) and SIGTERM: blocked, read from a signalfd beside every wait (wait_ready).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (::sigprocmask(SIG_BLOCK, &stop_signals, nullptr) < 0) die("server: sigprocmask");
    Fd signals{::signalfd(-1, &stop_signals, SFD_CLOEXEC)};
    if (signals.fd < 0) die("server: signalfd");

    if (::mkdir(dir.c_str(), 0777) < 0 && errno != EEXIST) die(("server: mkdir " + dir).c_str());
    Fd dir_fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir_fd.fd < 0) die(("server: " + dir).c_str());
    const std::vector<std::string> stale = remove_stale_temporaries(dir, dir_fd.fd);  // before any client

    // 1. socket. Non-blocking: accept() is called when poll() says a client waits, and if that
    //    client is gone by then (RST), we are back in poll() at once, not stuck in accept().
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
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
    for (const std::string& name : stale) std::printf("removed %s, left behind by a server that died\n", quoted(name).c_str());
    std::fflush(stdout);

    try {
        bool out_of_fds = false;
        for (;;) {  // 链接循环: one upload after another
            wait_ready(listener.fd, POLLIN, signals.fd, -1);  // a client, or a signal to stop
            sockaddr_in client{};
            socklen_t client_len = sizeof client;
            int fd;
            do {  // 4. accept
                fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC);
            } while (fd < 0 && errno == EINTR);
            Fd accepted{fd};
            if (accepted.fd < 0) {
                // Out of descriptors or memory: the client stays queued and the listener stays
                // readable, so retrying at once would spin. Say it once, then retry every 100 ms.
                const bool resources = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
                if (errno != EAGAIN && !(resources && out_of_fds))
                    std::fprintf(stderr, "server: accept: %s%s\n", std::strerror(errno),
                                 resources ? " (retrying every 100 ms, reported once)" : "");
                out_of_fds = out_of_fds || resources;
                if (resources) wait_ready(-1, 0, signals.fd, kBackoffMs);
                continue;
            }
            out_of_fds = false;
            std::printf("upload from %s\n", to_string(client).c_str());
            std::fflush(stdout);

            Conn conn{accepted.fd, signals.fd, idle, {}, {}, {}};
            const json verdict = receive_upload(conn, dir, dir_fd.fd, overwrite);  // 5. recv header, body, trailer
            if (verdict["ok"]) {
                std::printf("saved %s (%s bytes, xxh3-128 %s)\n", quoted(verdict["filename"].get<std::string>()).c_str(),
                            verdict["size"].dump().c_str(), verdict["digest"].get<std::string>().c_str());
            } else {
                std::printf("refused: %s\n", quoted(verdict["error"].get<std::string>()).c_str());
            }
            std::fflush(stdout);
            conn.deadline = Clock::now() + idle;
            if (!conn.send_frame(verdict.dump()))  // 6. send the verdict, if the client is still there
                std::printf("could not send the verdict: %s\n", conn.error.c_str());
            std::fflush(stdout);
        }  // 7. close: the connection closes itself at the end of each round
    } catch (const Stop& stop) {  // the upload in progress (if any) is gone by now: ~TempFile
        std::printf("stopped by %s\n", stop.signal == SIGINT ? "SIGINT" : "SIGTERM");
        return 0;
    }
}
