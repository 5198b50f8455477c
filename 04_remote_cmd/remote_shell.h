// remote_shell.h — what lesson 04's server adds around the tutorial's calls, none of them a
// socket call: its command line (host, port, --timeout, --idle-timeout, --allow-remote), the
// guard that keeps a remote shell on loopback, running one command within its limits
// (run_command.h), and the words of its log. server.cpp's main shows the tutorial's program.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>

#include "command_line.h"
#include "quoted.h"
#include "run_command.h"
#include "socket_core.h"

constexpr std::size_t kMaxOutputBytes = 16 << 20;  // stdout + stderr: `yes` must not eat all our memory
constexpr const char* kUsage =
    "server [host] [port] [--timeout SECONDS] [--idle-timeout SECONDS] [--allow-remote]   "
    "(default 127.0.0.1 9939, timeout 10, idle timeout 60)";

struct ServerOptions {
    sockaddr_in address{};    // ip_port, default ('127.0.0.1', 9939)
    double timeout = 10;      // --timeout: seconds a command may run
    double idle_timeout = 60; // --idle-timeout: seconds a client may send nothing / read nothing
    bool allow_remote = false;
};

// The command line; and a non-loopback address is refused unless --allow-remote says so:
// 127.0.0.0/8 is loopback, anything else (0.0.0.0 = every interface!) lets other machines in.
inline ServerOptions parse_server_options(int argc, char* argv[]) {
    const CommandLine line =
        parse_command_line("server", kUsage, argc, argv,
                           {"--timeout SECONDS", "--idle-timeout SECONDS", "--allow-remote"}, 2);
    std::string host = "127.0.0.1";
    std::uint16_t port = 9939;
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("server", line.positional[1], /*zero_allowed=*/true, kUsage);
    ServerOptions o;
    for (const auto& [option, value] : line.options) {
        if (option == "--timeout") o.timeout = parse_seconds("server", kUsage, option, value);
        if (option == "--idle-timeout") o.idle_timeout = parse_seconds("server", kUsage, option, value);
        if (option == "--allow-remote") o.allow_remote = true;
    }
    o.address = ipv4_address("server", host, port);
    if (!is_loopback(o.address) && !o.allow_remote) {
        usage_error("server", kUsage, "refusing to listen on " + host + ": not a loopback address, and this server "
                    "runs any command it is sent (pass --allow-remote if you really mean it)");
    }
    return o;
}

// Said once the port is bound, so that it names the real one (port 0 = any free port).
inline void warn_if_remote(const ServerOptions& o, const sockaddr_in& bound) {
    if (!o.allow_remote) return;
    std::fprintf(stderr, "server: WARNING: --allow-remote: anyone who can reach %s can run any command as "
                 "this user (e.g. `foobar; rm -rf ~`)\n", to_string(bound).c_str());
}

// For the log: "exit status 0", "killed after the 10 s timeout", "killed by signal Killed".
inline std::string how_it_ended(const CommandResult& r, double timeout) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout);
    if (r.too_large) return "killed: more than " + std::to_string(kMaxOutputBytes) + " bytes of output, refused";
    if (r.out_of_memory) return "killed: out of memory for its output, refused";
    if (r.timed_out) return std::string("killed after the ") + seconds + " s timeout";
    if (r.signal != 0) return std::string("killed by signal ") + ::strsignal(r.signal);
    return "exit status " + std::to_string(r.exit_code);
}

// Runs one command within its limits (run_command.h) and logs how it went; false only if no
// command could be started at all (posix_spawn failed: said on stderr). A command with a NUL
// byte is not run (argv strings end at a NUL). Output over the limit is not sent cut: the
// output policy (README) is a one-line notice instead.
inline bool run_and_log(const std::string& who, const std::string& command, double timeout, CommandResult& result) {
    std::string ended = "not run: the command contains a NUL byte";
    if (command.find('\0') == std::string::npos) {
        if (!run_command(command, timeout, kMaxOutputBytes, result)) {
            std::fprintf(stderr, "server: posix_spawn /bin/sh: %s\n", std::strerror(errno));
            return false;
        }
        ended = how_it_ended(result, timeout);
    }
    std::printf("%s ran %s: %zu bytes stdout, %zu bytes stderr, %s\n", who.c_str(), quoted(command).c_str(),
                result.out.size(), result.err.size(), ended.c_str());
    std::fflush(stdout);
    if (result.too_large) result.err = "server: output of more than " + std::to_string(kMaxOutputBytes) + " bytes refused\n";
    if (result.out_of_memory) result.err = "server: no memory to keep the output, refused\n";
    return true;
}

// Why a recv or send on a client failed, truthfully. EAGAIN: the --idle-timeout silence limit ran out.
inline void log_failure(const std::string& who, const char* call, double idle_timeout) {
    if (errno == EAGAIN && std::strcmp(call, "recv") == 0) {
        std::fprintf(stderr, "server: client %s sent nothing for %g s (--idle-timeout): dropped\n", who.c_str(),
                     idle_timeout);
    } else if (errno == EAGAIN) {
        std::fprintf(stderr, "server: client %s did not read its reply for %g s (--idle-timeout): dropped\n",
                     who.c_str(), idle_timeout);
    } else {  // e.g. ECONNRESET: the client vanished (tutorial 002 §1 客户端异常退出)
        std::fprintf(stderr, "server: %s %s %s: %s\n", call, std::strcmp(call, "recv") == 0 ? "from" : "to",
                     who.c_str(), std::strerror(errno));
    }
}
