// file_to_send.h — the client's file: opened and checked before anything is sent (a regular
// file, with a name the server can take), then sent in big chunks, hashed with XXH3-128 on the
// way (never the whole file in memory), with an optional progress bar.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <vector>

#include "frames.h"  // fail, network_failure
#include "protocol.h"

constexpr std::size_t kChunkSize = 256 * 1024;  // one read/hash/send per 256 KiB, hashed while still in the CPU cache

struct FileToSend {
    Fd file;
    UploadHeader header;  // its plain name and size
};

// with open(path,'rb') as f: a regular file, or exit 1 saying why. O_NONBLOCK: opening a FIFO
// (or a device) could wait forever for a writer; opened this way it returns at once, fstat says
// what it is, and only a regular file goes on.
inline FileToSend open_file_to_send(const std::string& path) {
    FileToSend f{Fd{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)}, {}};
    struct stat info {};
    if (f.file.fd < 0 || ::fstat(f.file.fd, &info) < 0) fail(path + ": " + std::strerror(errno));
    if (!S_ISREG(info.st_mode)) fail(path + ": not a regular file");
    if (::fcntl(f.file.fd, F_SETFL, ::fcntl(f.file.fd, F_GETFL) & ~O_NONBLOCK) < 0) fail(path + ": " + std::strerror(errno));
    f.header = {path.substr(path.find_last_of('/') + 1), static_cast<std::uint64_t>(info.st_size)};
    if (const auto problem = file_name_problem(f.header.filename)) fail(path + ": " + *problem);
    try {
        (void)json(f.header.filename).dump();
    } catch (const json::type_error&) {  // JSON strings are UTF-8
        fail(path + ": file name is not valid UTF-8");
    }
    return f;
}

// "  12.0 / 100.0 MiB  12%  345.6 MB/s" on stderr, redrawn in place at most 10 times a second.
inline void show_progress(std::uint64_t done, std::uint64_t total, std::chrono::steady_clock::time_point start, bool last) {
    static std::chrono::steady_clock::time_point shown;
    const auto now = std::chrono::steady_clock::now();
    if (!last && now - shown < std::chrono::milliseconds(100)) return;
    shown = now;
    const double seconds = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr, "\r%8.1f / %.1f MiB %3d%% %8.1f MB/s%s", done / 1048576.0, total / 1048576.0,
                 total ? static_cast<int>(100 * done / total) : 100, seconds > 0 ? done / seconds / 1e6 : 0.0,
                 last ? "\n" : "");
}

// for i in f: sk.send(i) — read a chunk, hash it, send it. Returns the digest of what was sent.
inline std::string send_file_body(int sock, FileToSend& f, const std::string& path, bool progress, double wait) {
    std::vector<char> chunk(kChunkSize);
    Digest digest;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t done = 0; done < f.header.size;) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, f.header.size - done));
        const ssize_t got = ::read(f.file.fd, chunk.data(), want);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail(path + ": read: " + std::strerror(errno));
        if (got == 0) fail(path + ": the file got shorter while it was being sent");
        digest.update(chunk.data(), static_cast<std::size_t>(got));
        errno = 0;
        if (!send_all(sock, chunk.data(), static_cast<std::size_t>(got)))
            network_failure(std::string("send: ") + std::strerror(errno), wait);
        done += static_cast<std::uint64_t>(got);
        if (progress) show_progress(done, f.header.size, start, done == f.header.size);
    }
    return digest.hex();
}
