// Lesson 05 — sticky packets (粘包), receiving side: shows where TCP put the boundaries.
//
// Usage:    ./server [host] [port] [--case send-side|receive-side|nodelay|udp] [--wait SECONDS]
//           default 127.0.0.1 8000, --case send-side; port 0 = any free port
// Partner:  ./client [host] [port] --case (the same case)
// Mirrors:  tutorial 002 §4.1 会发生粘包的两种情况 (服务端), §3 粘包的成因; 000 §四 tcp协议粘包问题.
//
// The client sends b'hello' and b'magic' in two send() calls (the tutorial spells it
// 'maigc', a typo). This server takes ONE connection, like the tutorial, and prints
// every recv() with what it returned:
//   send-side     recv(10) -> 10 bytes: "hellomagic"        (情况一 发送方的缓存机制)
//   receive-side  recv(2) -> "he", then recv(10) -> "llomagic" (情况二 接收方的缓存机制)
// In the tutorial this only happens when the timing is right. Here the server first
// WAITS until the client's 10 bytes are all queued (or the client closed), so it happens
// every time: poll() with SO_RCVLOWAT, then ioctl(FIONREAD) — see helpers.h, never a sleep.
//   nodelay       no waiting: recv(10) until end of stream; the split is up to timing
//   udp           two recvfrom(10): one datagram each, "hello" then "magic", never glued
// Beyond the tutorial, it shows the wire: how many TCP segments brought the bytes (TCP_INFO),
// next to how many recv() calls returned them: "2 segments on the wire, 1 recv" in 情况一.
//
// Every wait has a bound: 60 s for the client to turn up (a --case udp client never connects
// to a TCP server, a TCP client's connect to a udp server is refused), then 5 s for its bytes,
// each recv() included; --wait SECONDS sets both. A wait that runs out ends the server with a
// one-line message on stderr and exit status 1.

#include <sys/time.h>

#include <csignal>
#include <string>

#include "helpers.h"
#include "quoted.h"
#include "time_limits.h"

constexpr int kBacklog = 5;          // server.listen(5)
constexpr int kMessageBytes = 10;    // b'hello' + b'magic': what the client sends in all
constexpr const char* kUsage =
    "server [host] [port] [--case send-side|receive-side|nodelay|udp] [--wait SECONDS]   "
    "(default 127.0.0.1 8000 send-side; waits 60 s for a client, then 5 s for its bytes)";

// data = conn.recv(size), printed as: recv(10) -> 10 bytes: "hellomagic". SO_RCVTIMEO bounds it.
ssize_t show_recv(int fd, std::size_t size, int wait_ms) {
    char buf[64];
    ssize_t received;
    do {
        received = ::recv(fd, buf, size, 0);
    } while (received < 0 && errno == EINTR);
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        std::fprintf(stderr, "server: recv: nothing within %g s: the client neither sent more nor closed\n",
                     wait_ms / 1000.0);
        std::exit(1);
    }
    if (received < 0) die("server: recv");
    std::printf("recv(%zu) -> %zd bytes: %s%s\n", size, received, quoted(std::string_view(buf, static_cast<std::size_t>(received))).c_str(),
                received == 0 ? "   (end of stream: the client closed)" : "");
    std::fflush(stdout);
    return received;
}

// The wire next to the program: how many data segments arrived, how many recv() calls returned bytes.
void show_segments_received(int fd, int recvs) {
    tcp_info info{};
    const int counted = read_tcp_info(fd, info);
    if (counted < 0) die("server: getsockopt TCP_INFO");
    if (counted == 0) {
        std::printf("%s; %d recv%s\n", kNoSegmentCount, recvs, plural(recvs));
    } else {
        std::printf("%u segment%s on the wire, %d recv%s (TCP_INFO tcpi_data_segs_in; recv calls that returned "
                    "bytes)\n",
                    info.tcpi_data_segs_in, plural(info.tcpi_data_segs_in), recvs, plural(recvs));
    }
}

int main(int argc, char* argv[]) {
    const Options options = parse_options("server", argc, argv, /*server=*/true, kUsage);
    std::signal(SIGPIPE, SIG_IGN);  // `server | head -1`: a reader that went away is EPIPE, never death
    const Case which = options.which;
    const bool udp = which == Case::Udp;
    const sockaddr_in address = ipv4_address("server", options.host, options.port);

    // 1. socket: TCP (a byte stream) — or UDP for the contrast (datagrams)
    Fd sock{::socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0)};
    if (sock.fd < 0) die("server: socket");
    const int on = 1;
    if (::setsockopt(sock.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    // 2. bind
    if (::bind(sock.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    // 3. listen (TCP only)
    if (!udp && ::listen(sock.fd, kBacklog) < 0) die("server: listen");
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(sock.fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) < 0) die("server: getsockname");
    std::printf("listening on %s (%s)\n", to_string(bound).c_str(), udp ? "udp" : "tcp");
    std::fflush(stdout);

    if (udp) {  // 4. recvfrom twice: each call returns exactly one datagram, whatever else is queued
        for (int i = 0; i < 2; ++i) {
            const int wait_ms = i == 0 ? options.client_wait_ms : options.bytes_wait_ms;
            if (!wait_readable(sock.fd, wait_ms)) {  // a TCP client's connect here is refused: it never sends
                std::fprintf(stderr, i == 0 ? "server: no datagram within %g s (a client in a TCP --case connects "
                                              "instead, and is refused: give both programs the same --case)\n"
                                            : "server: only 1 of 2 datagrams within %g s\n",
                             wait_ms / 1000.0);
                return 1;
            }
            char buf[kMessageBytes];
            sockaddr_in peer{};
            socklen_t peer_len = sizeof peer;
            ssize_t received;
            do {
                received = ::recvfrom(sock.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
            } while (received < 0 && errno == EINTR);
            if (received < 0) die("server: recvfrom");
            std::printf("recvfrom(%d) -> %zd bytes: %s from %s\n", kMessageBytes, received,
                        quoted(std::string_view(buf, static_cast<std::size_t>(received))).c_str(), to_string(peer).c_str());
            std::fflush(stdout);
        }
        return 0;
    }

    // 4. accept: one client, like the tutorial (conn, addr = server.accept()) — if one comes
    if (!wait_readable(sock.fd, options.client_wait_ms)) {  // a --case udp client's datagrams never reach us
        std::fprintf(stderr, "server: no client connected within %g s (a --case udp client sends datagrams, which "
                             "this TCP server never sees: give both programs the same --case)\n",
                     options.client_wait_ms / 1000.0);
        return 1;
    }
    int accepted;
    do {
        accepted = ::accept(sock.fd, nullptr, nullptr);
    } while (accepted < 0 && errno == EINTR);
    Fd conn{accepted};
    if (conn.fd < 0) die("server: accept");
    const timeval recv_limit{options.bytes_wait_ms / 1000, options.bytes_wait_ms % 1000 * 1000};
    if (::setsockopt(conn.fd, SOL_SOCKET, SO_RCVTIMEO, &recv_limit, sizeof recv_limit) < 0) die("server: setsockopt");

    int recvs = 0;  // recv() calls that returned bytes
    if (which == Case::NoDelay) {  // 5. control: no waiting, recv(10) until end of stream
        while (show_recv(conn.fd, kMessageBytes, options.bytes_wait_ms) > 0) ++recvs;
        show_segments_received(conn.fd, recvs);
        return 0;
    }
    // 5. be a "late" receiver on purpose, without guessing how late: wait for all 10 bytes
    std::printf("waiting until %d bytes are queued or the client closes (poll + SO_RCVLOWAT, at most %g s)\n",
                kMessageBytes, options.bytes_wait_ms / 1000.0);
    std::fflush(stdout);
    const int queued = wait_for_bytes(conn.fd, kMessageBytes, options.bytes_wait_ms);
    if (queued < 0) die("server: wait");
    if (queued < kMessageBytes && !peer_closed(conn.fd)) {  // fewer, and no end of stream: the wait ran out
        std::fprintf(stderr, "server: the %g s wait ran out with %d of %d bytes queued: the client is slow, or "
                             "sent fewer and stays connected\n",
                     options.bytes_wait_ms / 1000.0, queued, kMessageBytes);
        return 1;
    }
    std::printf(queued < kMessageBytes ? "only %d bytes queued, and the client has closed (ioctl FIONREAD)\n"
                                       : "%d bytes queued (ioctl FIONREAD)\n",
                queued);
    std::fflush(stdout);

    // 6. the tutorial's two recv() calls
    const std::size_t first = which == Case::SendSide ? 10 : 2;              // data1 = conn.recv(10) / conn.recv(2)
    recvs += show_recv(conn.fd, first, options.bytes_wait_ms) > 0;
    recvs += show_recv(conn.fd, 10, options.bytes_wait_ms) > 0;              // data2 = conn.recv(10)
    show_segments_received(conn.fd, recvs);
    // 7. close: conn and sock close themselves (Fd's destructor)
    return 0;
}
