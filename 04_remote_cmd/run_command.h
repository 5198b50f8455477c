// run_command.h — what the tutorial's `subprocess.Popen(cmd, shell=True, …, stderr=subprocess.PIPE,
// stdout=subprocess.PIPE)` and its `res.stdout.read()`, `res.stderr.read()` do for the remote
// shells of lessons 04 and 06, with limits:
//   /bin/sh -c CMD in its own process group, stdin from /dev/null, SIGPIPE back to its default;
//   stdout and stderr on two pipes read together with poll() (reading one to the end first
//   deadlocks when the command fills the other, 64 KiB); the shell's exit seen through a pidfd.
// Nothing the command starts outlives it. A hard wall-clock deadline runs from the command's
// start; when the shell exits, when the deadline passes, when the output grows too large, and
// when the server is told to stop (any of stop_signals.h's kStopSignals: HUP INT QUIT TERM USR1
// USR2 ALRM), everything it started is killed and reaped: its process group, and every
// descendant that left the group (`setsid sleep 300 &`). The clean-up is linear in the number of
// processes left: /proc is walked once per generation of orphans, not once per process.
// The output limit, one policy for both lessons: stdout and stderr together may hold max_bytes.
// A command that writes more is killed at once and its output is refused (too_large, both
// emptied): the server answers with a one-line notice, never with a cut reply. Memory running out
// while the output is kept (std::bad_alloc) ends the command the same way (out_of_memory).
//
// A COPY, kept byte-identical in 04_remote_cmd and 06_framed_fix so that each folder builds
// alone. The original is 04_remote_cmd/run_command.h: edit that one, then run
// `python3 harness/sync_core.py` (the test harness/test_shared_code.py fails while a copy differs).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "socket_core.h"  // Fd
#include "stop_signals.h"
#include "time_limits.h"

extern char** environ;

struct CommandResult {
    std::string out, err;    // what the command wrote to stdout / stderr
    int exit_code = -1;      // its exit status; -1 if it did not exit by itself
    int signal = 0;          // the signal that ended it; 0 if none
    bool timed_out = false;  // killed after timeout_seconds
    bool too_large = false;  // killed: stdout + stderr came to more than max_bytes (both emptied)
    bool out_of_memory = false;  // killed: no memory to keep its output (bad_alloc; both emptied)
};

// This process's children now. /proc/PID/stat says "PID (NAME) STATE PARENT ...": a scan of
// /proc for PARENT == us. (/proc/self/task/TID/children lists them directly, but only in
// kernels built with CONFIG_PROC_CHILDREN.) False if /proc cannot be read.
inline bool children_of_this_process(std::vector<pid_t>& children) {
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return false;
    const pid_t self = ::getpid();
    while (const dirent* entry = ::readdir(proc)) {
        const int pid = std::atoi(entry->d_name);  // 0 for "self", "net" ...
        char path[64], stat[256];
        std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
        Fd file{pid > 0 ? ::open(path, O_RDONLY | O_CLOEXEC) : -1};
        const ssize_t size = file.fd < 0 ? -1 : ::read(file.fd, stat, sizeof stat - 1);
        if (size <= 0) continue;  // not a process, or it is gone already
        stat[size] = '\0';
        const char* after_name = std::strrchr(stat, ')');  // a NAME may hold spaces and ')' itself
        char state = 0;
        int parent = 0;
        if (after_name != nullptr && std::sscanf(after_name + 1, " %c %d", &state, &parent) == 2 && parent == self) {
            children.push_back(pid);
        }
    }
    ::closedir(proc);
    return true;
}

// Kills and reaps everything the command started; returns the shell's wait status.
// kill(-shell) reaches the shell's process group: the shell and the jobs it started. A
// descendant that left the group (setsid, setpgid) is not in it; but this server is a child
// subreaper (PR_SET_CHILD_SUBREAPER, set in run_command), so when a process dies its orphans
// become OUR children instead of init's. Hence the rounds: walk /proc once, kill every child we
// have, reap exactly those (each was sent SIGKILL, so each wait returns); their orphans are our
// children now, and the next round finds them. It ends when a round finds no child and waitpid
// says there is none (ECHILD). 1,000 background sleeps are one round, not 1,000 walks of /proc.
// The servers start no other children, so "every child" is exactly what the commands left.
// (A cgroup or a PID namespace would hold them more tightly, but needs privileges.)
inline int end_everything(pid_t shell) {
    ::kill(-shell, SIGKILL);  // before the shell is reaped, so its group id cannot be anyone else's yet
    ::kill(shell, SIGKILL);   // in case the shell moved itself to another group
    int shell_status = 0;
    for (;;) {
        std::vector<pid_t> children;
        if (!children_of_this_process(children)) {  // cannot look: reap the shell at least, never hang
            while (::waitpid(shell, &shell_status, 0) < 0 && errno == EINTR) {
            }
            return shell_status;
        }
        for (const pid_t child : children) ::kill(child, SIGKILL);
        for (std::size_t reaped = 0; reaped < children.size();) {  // each of them dies: these waits end
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, 0);
            if (pid < 0 && errno == EINTR) continue;
            if (pid < 0) return shell_status;  // ECHILD: nothing is left
            if (pid == shell) shell_status = status;
            ++reaped;
        }
        if (children.empty()) {  // nothing alive that is ours: take any zombie, else ECHILD ends it
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, WNOHANG);
            if (pid == shell) shell_status = status;
            if (pid < 0 && errno != EINTR) return shell_status;
        }
    }
}

// Returns false (errno set) only if the command could not be started (or watched: then it is killed).
inline bool run_command(const std::string& command, double timeout_seconds, std::size_t max_bytes,
                        CommandResult& result) {
    const long long deadline = now_ms() + static_cast<long long>(std::ceil(timeout_seconds * 1000));
    // Orphans of the command become our children, not init's (see end_everything). Once is
    // enough; again changes nothing.
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) return false;
    // A stop signal (HUP INT QUIT TERM USR1 USR2 ALRM: stop_signals.h) would kill the server at
    // once and leave the command running under PID 1. While a command runs they wait (blocked)
    // and a signalfd reports them to poll(): we end the command, then unblock them, and the
    // signal does what it always does.
    const sigset_t stops = stop_signal_set();
    sigset_t old_mask;
    if (::sigprocmask(SIG_BLOCK, &stops, &old_mask) < 0) return false;
    struct Unblock {  // on every way out of this function; a pending stop signal strikes then
        const sigset_t& mask;
        ~Unblock() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
    } unblock{old_mask};
    Fd stop_signal{::signalfd(-1, &stops, SFD_CLOEXEC)};
    if (stop_signal.fd < 0) return false;

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
    posix_spawnattr_setsigmask(&attributes, &none);  // the command starts with nothing blocked
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
    // A pidfd becomes readable when the shell exits (Linux 5.3+), so one poll() waits for all.
    Fd exited{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
    if (exited.fd < 0) {
        const int error = errno;
        end_everything(pid);
        errno = error;
        return false;
    }

    int status = 0;
    bool ended = false;  // end_everything done: nothing of the command is left
    // Until the shell has exited AND both pipes ended: `exec >/dev/null; sleep 12` closes the
    // pipes at once, and must still be killed at the deadline.
    while (!ended || out_read.fd >= 0 || err_read.fd >= 0) {
        pollfd watched[4] = {{out_read.fd, POLLIN, 0}, {err_read.fd, POLLIN, 0},   // fd -1: poll skips it
                             {ended ? -1 : exited.fd, POLLIN, 0}, {stop_signal.fd, POLLIN, 0}};
        const long long left = deadline - now_ms();
        if (left <= 0) {
            result.timed_out = true;
            break;
        }
        const int ready = ::poll(watched, 4, static_cast<int>(left));
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        if (watched[3].revents != 0) break;  // a stop signal: end the command now (Unblock lets it strike)
        if (watched[2].revents != 0) {  // the shell is gone: end what it left behind, so the pipes end too
            status = end_everything(pid);
            ended = true;
        }
        Fd* pipes[2] = {&out_read, &err_read};
        std::string* sinks[2] = {&result.out, &result.err};
        for (int i = 0; i < 2; ++i) {
            if (watched[i].revents == 0) continue;
            char chunk[65536];
            const ssize_t got = ::read(pipes[i]->fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) pipes[i]->reset();  // end of this stream
            try {
                if (got > 0) sinks[i]->append(chunk, static_cast<std::size_t>(got));
            } catch (const std::bad_alloc&) {  // e.g. under `ulimit -v`: end the command, not the server
                result.out_of_memory = true;
            }
        }
        if (result.out_of_memory) break;
        if (result.out.size() + result.err.size() > max_bytes) {
            result.too_large = true;
            break;
        }
    }
    if (!ended) status = end_everything(pid);  // the deadline, too much output or memory, a stop signal
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    if (result.too_large || result.out_of_memory) {
        result.out = std::string();  // gives the memory back, not only the bytes
        result.err = std::string();
    }
    return true;
}
