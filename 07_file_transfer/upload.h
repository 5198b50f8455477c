// upload.h — the server's side of one upload (protocol.h), phase by phase, each named call one
// step of server.cpp's main: recv_header, open_file (and the go-ahead), recv_body, recv_trailer,
// save, send_verdict. Each phase has its deadline (deadlines.h): the bytes must come at
// kMinRate on average, after an idle period of grace, so a drip of a byte every 20 s that keeps
// each recv() well inside --idle-timeout still cannot hold the server. A phase that fails
// returns false and `error` says why; that is the verdict the client gets.
#pragma once

#include <fcntl.h>

#include <optional>
#include <string>
#include <vector>

#include "deadlines.h"
#include "protocol.h"
#include "quoted.h"
#include "upload_folder.h"

constexpr std::size_t kChunkSize = 256 * 1024;     // the tutorial's 1024 costs a syscall per KiB; 256 KiB stays in cache
constexpr std::uint64_t kWritebackStep = 8 << 20;  // start writing to disk every 8 MiB (see recv_body)
constexpr std::uint64_t kMinRate = 64 * 1024;      // bytes/s on average: a body that comes slower is a drip

struct Upload {
    Connection peer;
    const UploadFolder& folder;
    bool overwrite;
    UploadHeader header{};
    TempFile file{};
    Digest digest{};
    std::string write_error;  // a failed write (disk full): said after the trailer, as the verdict
    std::string received_digest, error;

    Upload(int conn, milliseconds idle, const UploadFolder& into, bool may_overwrite)
        : peer(conn, idle), folder(into), overwrite(may_overwrite) {}

    // 先收报头: the dict header (name, size, digest), every field checked, and the name not taken.
    bool recv_header() {
        peer.deadline = Clock::now() + peer.idle + milliseconds(kMaxHeaderSize * 1000 / kMinRate);
        peer.late = "too slow (under " + std::to_string(kMinRate / 1024) + " KiB/s on average)";
        std::string frame;
        if (!peer.recv_frame(kMaxHeaderSize, frame)) return error = "header: " + peer.error, false;
        const auto decoded = decode_header(frame, error);
        if (!decoded) return false;
        header = *decoded;
        log_line("receiving " + ::quoted(header.filename) + " (" + std::to_string(header.size) + " bytes)");
        if (!overwrite && name_taken(folder, header.filename))
            return error = header.filename + " already exists (the server was not started with --overwrite)", false;
        return true;
    }
    // The temporary file, then the go-ahead: a refusal up to here costs the client one round trip.
    bool open_file() {
        if (!create_temporary(folder, file, error)) return false;
        if (!peer.send_frame(json{{"ok", true}, {"ready", true}}.dump())) return error = peer.error, false;
        return true;
    }
    // Exactly `size` bytes, hashed and written as they come: `done` bytes must be in by
    // idle + done / kMinRate after the go-ahead. After a write error keep reading (and
    // discarding) so that the client can hear why.
    bool recv_body() {
        const auto start = Clock::now();
        std::vector<char> chunk(kChunkSize);
        std::uint64_t written_back = 0;
        for (std::uint64_t done = 0; done < header.size;) {
            peer.deadline = start + peer.idle + milliseconds(done * 1000 / kMinRate);
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, header.size - done));
            const ssize_t received = peer.recv_some(chunk.data(), want);
            if (received <= 0)
                return error = (received == 0 ? "connection closed" : peer.error) + " after " + std::to_string(done) +
                               " of " + std::to_string(header.size) + " bytes", false;
            digest.update(chunk.data(), static_cast<std::size_t>(received));
            if (write_error.empty() && !write_all(file.file.fd, chunk.data(), static_cast<std::size_t>(received))) {
                write_error = errno_text("write");
                // give a full disk its space back now, not at the end of the upload
                if (::ftruncate(file.file.fd, 0) < 0) write_error += ", " + errno_text("ftruncate");
            }
            done += static_cast<std::uint64_t>(received);
            // Ask the kernel to start writing what we have so far to disk now, in the
            // background, so that the fsync() at the end has little left to wait for.
            if (done - written_back >= kWritebackStep && write_error.empty()) {
                ::sync_file_range(file.file.fd, static_cast<off_t>(written_back), static_cast<off_t>(done - written_back),
                                  SYNC_FILE_RANGE_WRITE);  // a hint: the fsync() in save() still checks everything
                written_back = done;
            }
        }
        peer.deadline = start + peer.idle + milliseconds(header.size * 1000 / kMinRate);  // for the trailer
        return true;
    }
    // The trailer: the client's digest of what it sent must be ours of what arrived.
    bool recv_trailer() {
        std::string frame;
        if (!peer.recv_frame(kMaxTrailerSize, frame)) return error = "trailer: " + peer.error, false;
        const std::optional<std::string> sent_digest = decode_trailer(frame);
        if (!sent_digest) return error = "trailer is not {\"digest\": \"<32 hex digits>\"}", false;
        if (!write_error.empty()) return error = write_error, false;
        received_digest = digest.hex();
        if (*sent_digest != received_digest)
            return error = "digest mismatch: client sent " + *sent_digest + ", server received " + received_digest, false;
        return true;
    }
    bool save() { return give_real_name(folder, file, header.filename, overwrite, error); }

    // conn.send(...): the verdict, logged first; then the connection closes (its Fd, in main).
    void send_verdict(bool saved) {
        file.remove();  // saved or not, the temporary name is gone before the client hears the verdict
        json verdict = json{{"ok", false}, {"error", error}};
        if (saved) {
            verdict = {{"ok", true}, {"filename", header.filename}, {"size", header.size}, {"digest", received_digest}};
            log_line("saved " + ::quoted(header.filename) + " (" + std::to_string(header.size) + " bytes, xxh3-128 " +
                     received_digest + ")");
        } else {
            log_line("refused: " + ::quoted(error));
        }
        peer.deadline = Clock::now() + peer.idle;
        if (!peer.send_frame(verdict.dump())) log_line("could not send the verdict: " + peer.error);
    }
};
