// upload_folder.h — the server's folder of uploads: where a file is written under a temporary
// name, how it gets its real name only when whole (rename/link are atomic), and the clean-up of
// temporary files a server that died left behind. The tutorial's `with open('file','ab') as f`.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "deadlines.h"    // errno_text
#include "protocol.h"     // kTempPrefix
#include "socket_core.h"  // Fd, die

// write() may also write less than asked (e.g. just up to a file size limit): loop.
inline bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

// The temporary file of one upload: removed when we leave, whatever happened (a refusal, an
// exception, a stop signal), unless it was renamed into place (then `path` is cleared).
struct TempFile {
    std::string path;
    Fd file{-1};
    ~TempFile() { remove(); }
    void remove() {  // now: e.g. before the client hears the verdict
        if (!path.empty()) ::unlink(std::exchange(path, "").c_str());
        file.reset();
    }
};

struct UploadFolder {
    std::string path;
    Fd fd;                              // the folder itself: for fstatat, and its fsync
    std::vector<std::string> removed;  // stale temporary files removed at the start
};

// The temporary file of an upload in progress is locked (flock) by the server writing it. One
// that nobody holds was left by a server that died (SIGKILL, power cut): remove it. A try-lock
// that fails means another server on this folder is writing it right now: leave it alone.
inline void remove_stale_temporaries(UploadFolder& folder) {
    const std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(folder.path.c_str()), &::closedir);
    if (!listing) die(("server: " + folder.path).c_str());
    while (const dirent* entry = ::readdir(listing.get())) {
        const std::string name = entry->d_name;
        if (name.rfind(kTempPrefix, 0) != 0) continue;
        Fd file{::openat(folder.fd.fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
        if (file.fd < 0 || ::flock(file.fd, LOCK_EX | LOCK_NB) < 0) continue;
        if (::unlinkat(folder.fd.fd, name.c_str(), 0) == 0) folder.removed.push_back(name);
    }
}

// The folder (created if missing), with what a server that died left in it removed.
inline UploadFolder open_upload_folder(const std::string& path) {
    if (::mkdir(path.c_str(), 0777) < 0 && errno != EEXIST) die(("server: mkdir " + path).c_str());
    UploadFolder folder{path, Fd{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)}, {}};
    if (folder.fd.fd < 0) die(("server: " + path).c_str());
    remove_stale_temporaries(folder);
    return folder;
}

inline bool name_taken(const UploadFolder& folder, const std::string& name) {
    struct stat existing {};
    return ::fstatat(folder.fd.fd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
}

// A new temporary file, locked, with the mode open() would give it. False: `error` says why.
inline bool create_temporary(const UploadFolder& folder, TempFile& temp, std::string& error) {
    for (;;) {  // mkostemp: a new name nobody else has, opened O_CREAT|O_EXCL, in the same folder
        std::string path = folder.path + "/" + kTempPrefix + "XXXXXX";
        temp.file.fd = ::mkostemp(path.data(), O_CLOEXEC);
        if (temp.file.fd < 0) return error = errno_text("mkostemp"), false;
        temp.path = path;
        // Locked while we write it (see remove_stale_temporaries). If a server starting up
        // removed it in the instant before flock(), it has lost its name: make another.
        struct stat info {};
        if (::flock(temp.file.fd, LOCK_EX) < 0 || ::fstat(temp.file.fd, &info) < 0) return error = errno_text("flock"), false;
        if (info.st_nlink > 0) break;
        temp.path.clear();
        temp.file.reset();
    }
    const mode_t umask_now = ::umask(0);  // mkostemp makes 0600; give the file what open() would
    ::umask(umask_now);
    if (::fchmod(temp.file.fd, 0666 & ~umask_now) < 0) return error = errno_text("fchmod"), false;
    return true;
}

// Commit: data on disk first, then the name. link() refuses to replace an existing name (no
// check-then-act race); rename() replaces atomically. Then the folder's fsync makes the new name
// itself survive a crash. (After link, TempFile::remove unlinks the temporary name.)
inline bool give_real_name(const UploadFolder& folder, TempFile& temp, const std::string& name, bool overwrite,
                           std::string& error) {
    if (::fsync(temp.file.fd) < 0) return error = errno_text("fsync"), false;
    const std::string final_path = folder.path + "/" + name;
    if (overwrite) {
        if (::rename(temp.path.c_str(), final_path.c_str()) < 0) return error = errno_text("rename"), false;
        temp.path.clear();
    } else if (::link(temp.path.c_str(), final_path.c_str()) < 0) {
        return error = errno == EEXIST ? name + " already exists" : errno_text("link"), false;
    }
    if (::fsync(folder.fd.fd) < 0) return error = errno_text("fsync"), false;
    return true;
}
