// echo_load_03 — the load generator of lesson 03's benchmark (not a lesson program).
//
// N client threads, each with its own connection to an echo server that speaks lesson 03's
// protocol (the tutorial's, 001 socket_server_tcp2.py): the server greets first (a fixed text,
// no newline), then every message the client sends in one send() comes back whole as the
// reply — upper-cased by 03_loop_server/threaded_server, unchanged by the tutorial's server.
// Each thread keeps one message in flight: send it, read the whole reply, check it, send the
// next. A Python generator runs out of CPU before a C++ server does: this one is C++, so that
// the benchmark measures the servers, not itself.
//
// Usage:  echo_load_03 PORT --greeting TEXT [--upper] [--clients N] [--seconds S] [--server-pid PID]
//   connects N clients (default 64) to 127.0.0.1:PORT one by one (the servers' listen queue
//   holds 5), runs all of them for S seconds (default 2), then sends "exit" on each and prints
//     COUNT round trips in SECONDS s: RATE round trips/s; server CPU US us per round trip; load generator CPU US us per round trip
//   (server CPU: user + system time of PID during the same S seconds, from /proc/PID/stat;
//   0 without --server-pid). Exit 0 ok, 1 a wrong reply or a failed call, 2 usage.
// Used by harness/bench/bench_03_loop_server.py; built by harness/bench/CMakeLists.txt.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

constexpr int kWaitSeconds = 20;  // every send/recv/connect gives up after this: no hang

struct Options {
    int port = 0;
    std::string greeting;
    bool upper = false;
    int clients = 64;
    double seconds = 2.0;
    long server_pid = 0;
};

[[noreturn]] void usage(const char* problem) {
    std::fprintf(stderr, "echo_load_03: %s\n"
                 "usage: echo_load_03 PORT --greeting TEXT [--upper] [--clients N] [--seconds S] [--server-pid PID]\n",
                 problem);
    std::exit(2);
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "echo_load_03: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

// The first failure of any thread, reported by main once every thread has stopped.
std::mutex failure_mutex;
std::string failure;
std::atomic<bool> stop{false};

void fail(const std::string& what) {
    const std::lock_guard<std::mutex> lock(failure_mutex);
    if (failure.empty()) failure = what;
    stop = true;
}

bool send_all(int fd, const std::string& data) {
    for (std::size_t done = 0; done < data.size();) {
        const ssize_t sent = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) return false;
        done += static_cast<std::size_t>(sent);
    }
    return true;
}

// Exactly `size` bytes, or "" after reporting why not (a close, a time-out, an error).
std::string recv_exactly(int fd, std::size_t size, const char* what) {
    std::string data(size, '\0');
    for (std::size_t done = 0; done < size;) {
        const ssize_t got = ::recv(fd, &data[done], size - done, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            fail(std::string(what) + ": " + (got == 0 ? "the server closed the connection"
                                             : errno == EAGAIN ? "no answer in time" : std::strerror(errno)));
            return "";
        }
        done += static_cast<std::size_t>(got);
    }
    return data;
}

// Bytes from the wire, shown on one line: \n and other control bytes as escapes.
std::string quoted(const std::string& bytes) {
    std::string text = "\"";
    for (const unsigned char c : bytes) {
        if (c == '\n') {
            text += "\\n";
        } else if (c < 0x20 || c == 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\x%02x", c);
            text += escape;
        } else {
            text += static_cast<char>(c);
        }
    }
    return text + "\"";
}

std::string upper_cased(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return text;
}

// User + system CPU seconds the process has used so far: fields 14 and 15 of /proc/PID/stat,
// counted after the ")" that ends the command name (which may itself hold spaces).
double cpu_seconds(long pid) {
    if (pid == 0) return 0;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const std::size_t paren = text.rfind(')');
    if (paren == std::string::npos) die("/proc/" + std::to_string(pid) + "/stat");
    const char* field = text.c_str() + paren + 1;
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(field, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &utime, &stime) != 2) {
        die("/proc/" + std::to_string(pid) + "/stat");
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int connect_and_greet(const Options& options) {
    const int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) die("socket");
    const timeval wait{kWaitSeconds, 0};  // SO_SNDTIMEO bounds connect() too
    if (::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) < 0 ||
        ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait) < 0) {
        die("setsockopt");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(options.port));
    if (::connect(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("connect");
    if (recv_exactly(sock, options.greeting.size(), "greeting") != options.greeting) {
        std::fprintf(stderr, "echo_load_03: %s\n",
                     failure.empty() ? ("the greeting is not " + quoted(options.greeting)).c_str() : failure.c_str());
        std::exit(1);
    }
    return sock;
}

// One client: round trips until `stop`; counts only those that ended before it.
void client(int sock, int number, const Options& options, std::shared_future<void> start,
            unsigned long long& count) {
    start.wait();
    char message[32];
    for (unsigned long long sent = 0; !stop; ++sent) {
        const int length = std::snprintf(message, sizeof message, "ping %03d %08llu\n", number, sent);
        const std::string request(message, static_cast<std::size_t>(length));
        if (!send_all(sock, request)) return fail(std::string("send: ") + std::strerror(errno));
        const std::string expected = options.upper ? upper_cased(request) : request;
        const std::string reply = recv_exactly(sock, expected.size(), "reply");
        if (reply.empty()) return;
        if (reply != expected) return fail("wrong reply " + quoted(reply) + " to " + quoted(request));
        if (!stop) ++count;
    }
    send_all(sock, "exit");  // the tutorial's server ends a session only on b'exit'
}

int main(int argc, char* argv[]) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--upper") {
            options.upper = true;
        } else if (arg == "--greeting" && has_value) {
            options.greeting = argv[++i];
        } else if (arg == "--clients" && has_value) {
            options.clients = std::atoi(argv[++i]);
        } else if (arg == "--seconds" && has_value) {
            options.seconds = std::atof(argv[++i]);
        } else if (arg == "--server-pid" && has_value) {
            options.server_pid = std::atol(argv[++i]);
        } else if (arg[0] != '-' && options.port == 0) {
            options.port = std::atoi(arg.c_str());
        } else {
            usage(("unexpected argument " + arg).c_str());
        }
    }
    if (options.port <= 0 || options.port > 65535) usage("PORT must be 1-65535");
    if (options.greeting.empty()) usage("--greeting TEXT is required");
    if (options.clients < 1 || options.clients > 1000) usage("--clients must be 1-1000");
    if (!(options.seconds > 0 && options.seconds <= 600)) usage("--seconds must be > 0 and at most 600");

    std::vector<int> socks;
    for (int i = 0; i < options.clients; ++i) socks.push_back(connect_and_greet(options));

    std::promise<void> go;
    const std::shared_future<void> start = go.get_future().share();
    std::vector<unsigned long long> counts(socks.size(), 0);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < socks.size(); ++i) {
        threads.emplace_back(client, socks[i], static_cast<int>(i), std::cref(options), start, std::ref(counts[i]));
    }
    const double server_cpu_before = cpu_seconds(options.server_pid), own_cpu_before = own_cpu_seconds();
    const auto began = std::chrono::steady_clock::now();
    go.set_value();
    std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
    stop = true;
    const auto ended = std::chrono::steady_clock::now();
    const double server_cpu = cpu_seconds(options.server_pid) - server_cpu_before;
    const double own_cpu = own_cpu_seconds() - own_cpu_before;
    for (std::thread& thread : threads) thread.join();
    for (const int sock : socks) ::close(sock);
    if (!failure.empty()) {
        std::fprintf(stderr, "echo_load_03: %s\n", failure.c_str());
        return 1;
    }

    unsigned long long total = 0;
    for (const unsigned long long count : counts) total += count;
    if (total == 0) {
        std::fprintf(stderr, "echo_load_03: no round trip finished in %g s\n", options.seconds);
        return 1;
    }
    const double elapsed = std::chrono::duration<double>(ended - began).count();
    std::printf("%llu round trips in %.3f s: %.1f round trips/s; server CPU %.2f us per round trip; "
                "load generator CPU %.2f us per round trip\n",
                total, elapsed, static_cast<double>(total) / elapsed, server_cpu / static_cast<double>(total) * 1e6,
                own_cpu / static_cast<double>(total) * 1e6);
    return 0;
}
