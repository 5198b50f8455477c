// Lesson 05 — sticky packets (粘包), receiving side: shows where TCP put the boundaries.
//
// Usage:    ./server [host] [port] [--case send-side|receive-side|nodelay|udp] [--wait SECONDS]
//           default 127.0.0.1 8000, --case send-side; port 0 = any free port
// Partner:  ./client [host] [port] --case (the same case)
// Mirrors:  tutorial 002 §4.1 会发生粘包的两种情况, 服务端 of 情况一 and 情况二 (§3 粘包的成因;
//           000 §四 tcp协议粘包问题). One connection, like the tutorial; every recv() printed:
//   send-side     情况一 发送方的缓存机制: recv(10) -> "hellomagic", recv(10) -> "" (end of stream)
//   receive-side  情况二 接收方的缓存机制: recv(2) -> "he", recv(10) -> "llomagic"
//   nodelay       control: no waiting, recv(10) until end of stream; the split is up to timing
//   udp           contrast: two recvfrom(10), one datagram each, never glued (receive_datagrams)
// The tutorial sees its cases only when the timing is right; this server first waits until the
// client's 10 bytes are queued (wait_until_queued in helpers.h: poll + SO_RCVLOWAT, no sleep), so
// they happen every time. Every wait has a bound (60 s for a client, then 5 s for its bytes, or
// --wait SECONDS): one that runs out ends the server with one line on stderr and exit status 1.

#include <csignal>
#include <string>

#include "helpers.h"
#include "quoted.h"

constexpr int kBacklog = 5;        // server.listen(5)
constexpr int kMessageBytes = 10;  // b'hello' + b'magic': what the client sends in all
constexpr const char* kUsage =
    "server [host] [port] [--case send-side|receive-side|nodelay|udp] [--wait SECONDS]   "
    "(default 127.0.0.1 8000 send-side; waits 60 s for a client, then 5 s for its bytes)";

// Below main:
ssize_t show_recv(int fd, std::size_t size, int limit_ms);  // conn.recv(size), and one printed line
void show_segments_received(int fd, int recvs);             // the wire: TCP_INFO next to the recv count
int receive_datagrams(const sockaddr_in& address, const Options& options);  // --case udp

int main(int argc, char* argv[]) {
    const Options options = parse_options("server", argc, argv, /*server=*/true, kUsage);
    std::signal(SIGPIPE, SIG_IGN);  // `server | head -1`: a reader that went away is EPIPE, never death
    const sockaddr_in address = ipv4_address("server", options.host, options.port);
    if (options.which == Case::Udp) return receive_datagrams(address, options);  // the contrast

    // 1. server = socket.socket()
    Fd server{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (server.fd < 0) die("server: socket");
    const int on = 1;  // a quick restart on the same port (tutorial 004)
    if (::setsockopt(server.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("server: setsockopt");
    // 2. server.bind(('192.168.3.21', 8000)) — 127.0.0.1:8000 by default
    if (::bind(server.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    // 3. server.listen(5)
    if (::listen(server.fd, kBacklog) < 0) die("server: listen");
    print_listening(server.fd, "tcp");

    // 4. conn, adrr = server.accept() — one client, if one comes within the wait
    wait_for_client(server.fd, options.client_wait_ms);
    int accepted;
    do {  // EINTR: a signal came first, not a failure: accept again
        accepted = ::accept4(server.fd, nullptr, nullptr, SOCK_CLOEXEC);
    } while (accepted < 0 && errno == EINTR);
    Fd conn{accepted};
    if (conn.fd < 0) die("server: accept");
    const int limit_ms = options.bytes_wait_ms;  // each recv() below waits at most this long (SO_RCVTIMEO)
    if (!set_silence_limit(conn.fd, limit_ms / 1000.0)) die("server: setsockopt");

    if (options.which == Case::NoDelay) {  // 5. the control: no waiting, recv(10) until end of stream
        int recvs = 0;
        while (show_recv(conn.fd, kMessageBytes, limit_ms) > 0) ++recvs;
        show_segments_received(conn.fd, recvs);
        return 0;
    }
    // 5. be a late receiver on purpose (情况二: 接收方不及时接收), without guessing how late
    wait_until_queued(conn.fd, kMessageBytes, limit_ms);
    // 6. the tutorial's two recv calls
    ssize_t data1, data2;
    if (options.which == Case::SendSide) {  // 情况一 发送方的缓存机制
        data1 = show_recv(conn.fd, 10, limit_ms);  // data1 = conn.recv(10) # 这里一次就接完了
        data2 = show_recv(conn.fd, 10, limit_ms);  // data2 = conn.recv(10) # 这里没接到
    } else {  // 情况二 接收方的缓存机制
        data1 = show_recv(conn.fd, 2, limit_ms);   // data1 = conn.recv(2) # 这里一次没接完
        data2 = show_recv(conn.fd, 10, limit_ms);  // data2 = conn.recv(10) # 这里继续接剩下的
    }
    show_segments_received(conn.fd, (data1 > 0) + (data2 > 0));
    // 7. conn.close() — conn and server close themselves (Fd's destructor)
    return 0;
}

// data = conn.recv(size), printed as: recv(10) -> 10 bytes: "hellomagic". SO_RCVTIMEO bounds it.
ssize_t show_recv(int fd, std::size_t size, int limit_ms) {
    char buf[64];
    ssize_t received;
    do {
        received = ::recv(fd, buf, size, 0);
    } while (received < 0 && errno == EINTR);
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        std::fprintf(stderr, "server: recv: nothing within %g s: the client neither sent more nor closed\n",
                     limit_ms / 1000.0);
        std::exit(1);
    }
    if (received < 0) die("server: recv");
    std::printf("recv(%zu) -> %zd bytes: %s%s\n", size, received,
                quoted(std::string_view(buf, static_cast<std::size_t>(received))).c_str(),
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

// --case udp, the contrast (002 §3: UDP是面向消息的协议): socket, bind, then recvfrom twice; each
// call returns exactly one datagram, whatever else is queued. No listen, no accept: no connection.
int receive_datagrams(const sockaddr_in& address, const Options& options) {
    Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("server: socket");
    if (::bind(sock.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) die("server: bind");
    print_listening(sock.fd, "udp");
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
