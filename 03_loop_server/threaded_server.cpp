// Lesson 03 — threaded TCP echo server: one thread per client, many served at once.
//
// Usage:    ./threaded_server [host] [port] [--max-clients N]
//           default 127.0.0.1 8888, at most 256 clients at once; port 0 = any free port
// Partner:  ./client [host] [port]             (start several: none has to wait)
// Mirrors:  tutorial 001 socket_server_tcp2.py: socketserver.ThreadingTCPServer with a
//           BaseRequestHandler whose setup() → handle() → finish() run for each client.
//
// Same protocol as server.cpp (greeting "连接成功", one recv(1024) = one message, echoed
// upper-cased, "exit" ends the session) — 001's handler greets with "Hello World!" and
// echoes unchanged; we keep one protocol for both servers (README). The main thread only
// accepts; each connection gets its own thread running an EchoHandler, and the thread ends
// with its client. Unlike ThreadingTCPServer it serves at most --max-clients at once: the
// next one is told so in one line and closed (client_cap.h). Build with -pthread.

#include <csignal>
#include <exception>
#include <functional>
#include <string>
#include <system_error>
#include <thread>

#include "helpers.h"
#include "accept_backoff.h"
#include "command_line.h"
#include "client_cap.h"
#include "quoted.h"

constexpr int kBacklog = 5;             // ThreadingTCPServer.request_queue_size = 5
constexpr std::size_t kBufSize = 1024;  // conn.recv(1024)
constexpr const char* kGreeting = "连接成功";  // no newline, like the tutorial's
constexpr std::size_t kMaxClients = 256;  // threads and descriptors stay bounded (client_cap.h)
constexpr const char* kUsage =
    "threaded_server [host] [port] [--max-clients N]   (default 127.0.0.1 8888, at most 256 clients at once; "
    "port 0 = any free port)";

// One client's session, in socketserver's three named steps. Each thread owns
// its handler: nothing in it is shared, so the threads need no locks (only
// log_line takes one, for stdout).
class EchoHandler {
public:
    EchoHandler(Fd conn, std::string peer) : conn_(std::move(conn)), peer_(std::move(peer)) {}

    void setup() { log_line("client " + peer_ + " connected"); }

    // The communication loop (通信循环), as in server.cpp but with no turn to end it: a client
    // here holds only its own thread and place, never the others (client_cap.h bounds the places).
    void handle() {
        if (!send_all(conn_.fd, kGreeting, std::strlen(kGreeting))) return end(send_failure());
        char buf[kBufSize];
        for (;;) {
            // 5. recv: one chunk of at most 1024 bytes is one message
            const ssize_t received = ::recv(conn_.fd, buf, sizeof buf, 0);
            if (received < 0 && errno == EINTR) continue;
            if (received < 0 && errno == ECONNRESET) return end("connection reset");
            if (received < 0) return end(std::string("recv: ") + std::strerror(errno));
            if (received == 0) return end("recv returned 0");
            const std::string message(buf, static_cast<std::size_t>(received));
            log_line("client " + peer_ + " said " + std::to_string(message.size()) + " bytes: " + quoted(message));
            if (is_exit(message)) return end("sent exit");
            // 6. send it back upper-cased
            const std::string reply = upper_cased(message);
            if (!send_all(conn_.fd, reply.data(), reply.size())) return end(send_failure());
        }
    }

    // Runs however handle() ended ("setup与finish无论如何都会执行").
    void finish() { log_line("client " + peer_ + " left (" + why_ + ")"); }

    void end(std::string why) { why_ = std::move(why); }

private:
    Fd conn_;  // 7. close: when the handler is destroyed, at the end of its thread
    std::string peer_;
    std::string why_ = "handler stopped";
};

// The body of each client's thread: what BaseRequestHandler.__init__ does.
// An exception must not leave a thread (that would end the whole process).
void serve_client(Fd conn, std::string peer, ClientCap& places) {
    EchoHandler handler{std::move(conn), std::move(peer)};
    handler.setup();
    try {
        handler.handle();
    } catch (const std::exception& error) {  // e.g. std::bad_alloc
        handler.end(std::string("error: ") + error.what());
    }
    handler.finish();
    places.give_back_place();
}

int main(int argc, char* argv[]) {
    const CommandLine line = parse_command_line("threaded_server", kUsage, argc, argv, {"--max-clients N"}, 2);
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    if (line.positional.size() > 0) host = line.positional[0];
    if (line.positional.size() > 1) port = parse_port("threaded_server", line.positional[1], /*zero_allowed=*/true, kUsage);
    std::size_t max_clients = kMaxClients;
    for (const auto& [option, value] : line.options) {  // --max-clients is the only option
        max_clients = parse_number("threaded_server", kUsage, option, value, 1, 10000);
    }
    ClientCap places{max_clients};
    std::signal(SIGPIPE, SIG_IGN);  // a vanished reader (client or log pipe) is an error, never a death

    // 1. socket + SO_REUSEADDR (socketserver's allow_reuse_address)  2. bind  3. listen
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0) die("threaded_server: socket");
    const int on = 1;
    if (::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("threaded_server: setsockopt");
    const sockaddr_in address = ipv4_address("threaded_server", host, port);
    if (::bind(listener.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
        die("threaded_server: bind");
    }
    if (::listen(listener.fd, kBacklog) < 0) die("threaded_server: listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) {
        die("threaded_server: getsockname");
    }
    log_line("listening on " + to_string(bound));

    for (;;) {  // serve_forever(): accept, hand the connection to a new thread, accept again
        // 4. accept
        sockaddr_in client{};
        socklen_t client_len = sizeof client;
        Fd conn{::accept4(listener.fd, reinterpret_cast<sockaddr*>(&client), &client_len, SOCK_CLOEXEC)};
        if (conn.fd < 0) {
            accept_failed("threaded_server");  // e.g. ECONNABORTED: the next one; EMFILE: pause 100 ms (accept_backoff.h)
            continue;
        }
        const std::string peer = to_string(client);
        if (!places.take_place()) {  // --max-clients are served already: say so, close it (conn's destructor)
            places.refuse(conn.fd, peer);
            continue;
        }
        try {
            // The thread owns the connection from here on. Detached: nobody joins it,
            // it simply ends when its client leaves, and gives its place back.
            std::thread(serve_client, std::move(conn), peer, std::ref(places)).detach();
        } catch (const std::system_error& error) {  // no more threads: refuse this client, keep serving
            places.give_back_place();
            std::fprintf(stderr, "threaded_server: thread for %s: %s\n", peer.c_str(), error.what());
        }
    }
}
