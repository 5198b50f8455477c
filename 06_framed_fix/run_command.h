// run_command.h — lesson 06's server runs one shell command the way the tutorial's
// subprocess.Popen(cmd, shell=True, stdout=PIPE, stderr=PIPE) does, with limits:
//   posix_spawn("/bin/sh", "-c", CMD), stdin from /dev/null, stdout and stderr on two pipes
//   read together with poll() (reading one to the end first can deadlock when the command
//   fills the other), a timeout that kills the command's whole process group, then waitpid.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "helpers.h"

extern char** environ;

struct CommandResult {
    std::string out, err;    // what the command wrote to stdout / stderr
    int exit_code = -1;      // its exit status, -1 if it did not exit by itself
    int signal = 0;          // the signal that ended it, 0 if none
    bool timed_out = false;  // we killed it after timeout_seconds
    std::string error;       // why there is no output to send (too large, spawn failed)
};

inline CommandResult run_command(const std::string& command, int timeout_seconds, std::uint64_t max_bytes) {
    CommandResult result;
    // A blank command prints nothing and exits 0 under sh -c; answer it without a shell
    // (the client's --bench sends " " so that it measures the framing, not fork+exec).
    if (command.find_first_not_of(" \t") == std::string::npos) {
        result.exit_code = 0;
        return result;
    }
    if (command.find('\0') != std::string::npos) {  // argv strings end at the first NUL
        result.error = "the command contains a NUL byte";
        return result;
    }
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) < 0) return {"", "", -1, 0, false, std::string("pipe: ") + std::strerror(errno)};
    Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};
    if (::pipe2(err_pipe, O_CLOEXEC) < 0) return {"", "", -1, 0, false, std::string("pipe: ") + std::strerror(errno)};
    Fd err_read{err_pipe[0]}, err_write{err_pipe[1]};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
    posix_spawn_file_actions_adddup2(&actions, err_write.fd, 2);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // the server ignores SIGPIPE; `yes | head` must not
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setpgroup(&attributes, 0);  // its own process group: a timeout kills it all
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>(command.c_str()), nullptr};
    pid_t pid = -1;
    const int spawn_error = ::posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawn_error != 0) return {"", "", -1, 0, false, std::string("posix_spawn: ") + std::strerror(spawn_error)};
    ::close(std::exchange(out_write.fd, -1));  // only the child writes; we see EOF when it is done
    ::close(std::exchange(err_write.fd, -1));

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    pollfd fds[2] = {{out_read.fd, POLLIN, 0}, {err_read.fd, POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    bool too_large = false;
    while ((fds[0].fd >= 0 || fds[1].fd >= 0) && !too_large) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) break;
        for (int i = 0; i < 2 && ready > 0; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buf[65536];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                fds[i].fd = -1;  // end of this stream (poll ignores negative fds)
                continue;
            }
            sinks[i]->append(buf, static_cast<std::size_t>(n));
            too_large = result.out.size() + result.err.size() > max_bytes;
        }
    }
    if (result.timed_out || too_large) ::kill(-pid, SIGKILL);  // the shell and all it started
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    if (too_large) {  // refuse rather than send a reply the client must refuse anyway
        result.out.clear();
        result.err.clear();
        result.error = "output of more than " + std::to_string(max_bytes) + " bytes refused (limit: --max-bytes " +
                       std::to_string(max_bytes) + ")";
    }
    return result;
}
