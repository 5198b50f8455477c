// helpers.h — the tools lesson 04's server.cpp and client.cpp share.
// Nothing here hides a socket call: socket/bind/listen/accept/connect/send/recv
// stay in the lesson files, in the tutorial's order. What is here: 01's small
// helpers, run_command() (the tutorial's subprocess.Popen) and wait_for_bytes().
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

extern char** environ;

// "server: bind: Address already in use" on stderr, then exit status 1.
// Only for setup steps: there is nothing sensible to go on with.
[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// Owns one file descriptor and closes it exactly once, on every path out of
// the scope (Python's `with socket.socket() as s:`).
struct Fd {
    int fd;
    explicit Fd(int f) noexcept : fd(f) {}
    Fd(Fd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(std::exchange(fd, -1));
    }
};

// A bad command line: say what is wrong, show the usage, exit status 2.
[[noreturn]] inline void usage_error(const char* program, const char* usage, const std::string& problem) {
    std::fprintf(stderr, "%s: %s\nusage: %s\n", program, problem.c_str(), usage);
    std::exit(2);
}

// "9939" -> 9939. The whole text must be a number in 0..65535; port 0 asks the
// kernel for any free port, which only makes sense for a server's bind().
inline std::uint16_t parse_port(const char* program, const char* text, bool zero_allowed, const char* usage) {
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text, &end, 10);
    const unsigned long lowest = zero_allowed ? 0 : 1;
    if (*text == '\0' || *end != '\0' || errno != 0 || *text == '-' || value < lowest ||
        value > 65535) {
        usage_error(program, usage, std::string("bad port '") + text + "': want a number " +
                               std::to_string(lowest) + "-65535");
    }
    return static_cast<std::uint16_t>(value);
}

// "2.5" -> 2500 milliseconds, for --timeout and --wait. Up to a day, more is a typo.
inline int parse_seconds(const char* program, const char* flag, const char* text, const char* usage) {
    char* end = nullptr;
    const double seconds = text ? std::strtod(text, &end) : -1;
    if (!text || *text == '\0' || *end != '\0' || !(seconds > 0) || seconds > 86400) {
        usage_error(program, usage, std::string(flag) + " wants a number of seconds, e.g. " + flag + " 2");
    }
    return static_cast<int>(std::ceil(seconds * 1000));
}

// "127.0.0.1" or "localhost" -> an IPv4 socket address. AF_INET on purpose:
// the tutorial uses AF_INET, and asking for it avoids "localhost" turning into
// the IPv6 address ::1 that an IPv4 server is not listening on.
inline sockaddr_in ipv4_address(const char* program, const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
        std::fprintf(stderr, "%s: getaddrinfo: %s: %s\n", program, host.c_str(), ::gai_strerror(rc));
        std::exit(1);
    }
    sockaddr_in address{};
    std::memcpy(&address, found->ai_addr, sizeof address);
    ::freeaddrinfo(found);
    address.sin_port = htons(port);  // network byte order: big-endian on the wire
    return address;
}

// sockaddr_in -> "127.0.0.1:50140", what Python prints as ('127.0.0.1', 50140).
inline std::string to_string(const sockaddr_in& address) {
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &address.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(address.sin_port));
}

// One send() may take fewer bytes than asked: this is Python's sendall().
// MSG_NOSIGNAL: a client that has gone away gives EPIPE instead of killing us with SIGPIPE.
inline bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += sent;
        size -= static_cast<std::size_t>(sent);
    }
    return true;
}

inline long long now_ms() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

// ---------------------------------------------------------------- the server's side

// What subprocess.Popen(cmd, shell=True, stdout=PIPE, stderr=PIPE) gave the tutorial:
// everything the command wrote to stdout, everything it wrote to stderr, and how it ended.
struct CommandResult {
    std::string out, err;
    std::string how_it_ended;  // "exit status 0", "killed after the 10 s timeout", ...
};

constexpr std::size_t kMaxOutputBytes = 16 << 20;  // per stream: `yes` must not eat all our memory

// Runs `/bin/sh -c command` with stdin from /dev/null and stdout/stderr on two pipes.
// Both pipes are read at once with poll(): reading all of stdout first (as the tutorial
// does) deadlocks with a command that fills the stderr pipe (64 KiB) and waits for us.
// The command gets its own process group; when it ends, or after timeout_ms, the whole
// group is killed, so nothing it started in the background outlives it. waitpid() reaps
// it: no zombies. Returns false (errno set) only if the command could not be started.
inline bool run_command(const std::string& command, int timeout_ms, CommandResult& result) {
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
    posix_spawnattr_t attributes;        // ... and in its own process group, so we can kill all of it
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
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
    // A pidfd becomes readable when the child exits (Linux 5.3+), so one poll() waits for all three.
    Fd exited{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};

    const long long deadline = now_ms() + timeout_ms;
    bool timed_out = false, child_exited = false;
    while (out_read.fd >= 0 || err_read.fd >= 0 || (!child_exited && exited.fd >= 0)) {
        pollfd watched[3] = {{out_read.fd, POLLIN, 0}, {err_read.fd, POLLIN, 0},
                             {child_exited ? -1 : exited.fd, POLLIN, 0}};  // fd -1: poll skips it
        const long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        const int ready = ::poll(watched, 3, static_cast<int>(left));
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        if (watched[2].revents != 0) {  // the shell is gone: kill what it left behind in its group
            child_exited = true;
            ::kill(-pid, SIGKILL);
        }
        Fd* pipes[2] = {&out_read, &err_read};
        std::string* sinks[2] = {&result.out, &result.err};
        for (int i = 0; i < 2; ++i) {
            if (watched[i].revents == 0) continue;
            char chunk[65536];
            const ssize_t got = ::read(pipes[i]->fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0 || sinks[i]->size() >= kMaxOutputBytes) {
                pipes[i]->reset();  // end of output (or too much: the writer now gets EPIPE)
                continue;
            }
            sinks[i]->append(chunk, static_cast<std::size_t>(got));
        }
    }
    ::kill(-pid, SIGKILL);  // a no-op if the whole group is gone already
    ::kill(pid, SIGKILL);   // in case the shell moved itself to another group
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", timeout_ms / 1000.0);
        result.how_it_ended = std::string("killed after the ") + seconds + " s timeout";
    } else if (WIFEXITED(status)) {
        result.how_it_ended = "exit status " + std::to_string(WEXITSTATUS(status));
    } else {
        result.how_it_ended = std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
    }
    return true;
}

// ---------------------------------------------------------------- the client's side

// Waits until at least `count` bytes are queued on the socket, or the peer closed, or
// timeout_ms passed; returns how many bytes are queued then (ioctl FIONREAD).
// No sleeping and no busy loop: SO_RCVLOWAT ("low-water mark") tells poll() to report
// the socket readable only once `count` bytes are there (or at end of stream). It is
// put back to 1 afterwards, so the recv() that follows returns whatever is there.
inline int wait_for_bytes(int fd, int count, int timeout_ms) {
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &count, sizeof count) < 0) return -1;
    pollfd readable{fd, POLLIN, 0};
    const long long deadline = now_ms() + timeout_ms;
    for (long long left = timeout_ms; left > 0; left = deadline - now_ms()) {
        const int ready = ::poll(&readable, 1, static_cast<int>(left));
        if (ready > 0 || (ready < 0 && errno != EINTR)) break;
    }
    const int one = 1;
    int queued = 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one) < 0 || ::ioctl(fd, FIONREAD, &queued) < 0) {
        return -1;
    }
    return queued;
}
