// run_command.h — what the tutorial's subprocess.Popen(cmd, shell=True, stdout=PIPE, stderr=PIPE)
// does for the remote shells of lessons 04 and 06, with limits:
//   /bin/sh -c CMD in its own process group, stdin from /dev/null, SIGPIPE back to its default;
//   stdout and stderr on two pipes read together with poll() (reading one to the end first
//   deadlocks when the command fills the other, 64 KiB); the shell's exit seen through a pidfd;
//   then the whole group is killed, so nothing it started in the background outlives it
//   (`sleep 8 & echo hi` answers at once); waitpid reaps it: no zombies.
// The output limit, one policy for both lessons: stdout and stderr together may hold max_bytes.
// A command that writes more is killed at once and its output is refused (too_large, both
// emptied): the server answers with a one-line notice, never with a cut reply.
//
// A COPY, kept byte-identical in 04_remote_cmd and 06_framed_fix so that each folder builds
// alone. The original is 04_remote_cmd/run_command.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cmath>
#include <string>

#include "socket_core.h"  // Fd, now_ms

extern char** environ;

struct CommandResult {
    std::string out, err;    // what the command wrote to stdout / stderr
    int exit_code = -1;      // its exit status; -1 if it did not exit by itself
    int signal = 0;          // the signal that ended it; 0 if none
    bool timed_out = false;  // killed after timeout_seconds
    bool too_large = false;  // killed: stdout + stderr came to more than max_bytes (both emptied)
};

// Returns false (errno set) only if the command could not be started.
inline bool run_command(const std::string& command, double timeout_seconds, std::size_t max_bytes,
                        CommandResult& result) {
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) < 0) return false;
    Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};
    if (::pipe2(err_pipe, O_CLOEXEC) < 0) return false;
    Fd err_read{err_pipe[0]}, err_write{err_pipe[1]};

    posix_spawn_file_actions_t actions;  // what the child does before exec: stdin, stdout, stderr
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
    posix_spawn_file_actions_adddup2(&actions, err_write.fd, 2);
    posix_spawnattr_t attributes;  // its own process group; SIGPIPE as usual (`yes | head` must end)
    posix_spawnattr_init(&attributes);
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attributes, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) {
        errno = rc;
        return false;
    }
    out_write.reset();  // only the child writes; our copies would keep the pipes from ever ending
    err_write.reset();
    // A pidfd becomes readable when the shell exits (Linux 5.3+), so one poll() waits for all three.
    Fd exited{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};

    const long long deadline = now_ms() + static_cast<long long>(std::ceil(timeout_seconds * 1000));
    bool shell_exited = false;
    while (out_read.fd >= 0 || err_read.fd >= 0) {
        pollfd watched[3] = {{out_read.fd, POLLIN, 0}, {err_read.fd, POLLIN, 0},
                             {shell_exited ? -1 : exited.fd, POLLIN, 0}};  // fd -1: poll skips it
        const long long left = deadline - now_ms();
        if (left <= 0) {
            result.timed_out = true;
            break;
        }
        const int ready = ::poll(watched, 3, static_cast<int>(left));
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        if (watched[2].revents != 0) {  // the shell is gone: kill what it left behind in its group
            shell_exited = true;
            ::kill(-pid, SIGKILL);
        }
        Fd* pipes[2] = {&out_read, &err_read};
        std::string* sinks[2] = {&result.out, &result.err};
        for (int i = 0; i < 2; ++i) {
            if (watched[i].revents == 0) continue;
            char chunk[65536];
            const ssize_t got = ::read(pipes[i]->fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) pipes[i]->reset();  // end of this stream
            if (got > 0) sinks[i]->append(chunk, static_cast<std::size_t>(got));
        }
        if (result.out.size() + result.err.size() > max_bytes) {
            result.too_large = true;
            break;
        }
    }
    ::kill(-pid, SIGKILL);  // the shell and all it started; a no-op if the group is gone already
    ::kill(pid, SIGKILL);   // in case the shell moved itself to another group
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    if (result.too_large) {
        result.out.clear();
        result.err.clear();
    }
    return true;
}
