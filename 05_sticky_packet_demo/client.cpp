// Lesson 05 — sticky packets (粘包), sending side: two small sends, b'hello' and b'magic'.
//
// Usage:    ./client [host] [port] [--case send-side|receive-side|nodelay|udp]
//           default 127.0.0.1 8000, --case send-side
// Partner:  ./server [host] [port] --case (the same case)
// Mirrors:  tutorial 002 §4.1 会发生粘包的两种情况, 客户端 (the same in 情况一 and 情况二):
//           sk.connect(...); sk.send(b'hello'); sk.send(b'maigc'); sk.close() — 'maigc' is the
//           tutorial's typo for 'magic'. Every send() is printed with what it returned.
// The sender does the same in send-side and receive-side: only the server receives differently.
//   nodelay  sets TCP_NODELAY first: each send() leaves at once, no Nagle (002 §3)
//   udp      two sendto() calls, two datagrams (send_datagrams); nothing comes back, so this
//            client cannot tell whether anyone received them (it says so)
// Beyond the tutorial, it shows the wire: once the server has ACKed every byte, how many TCP
// segments carried the two sends (TCP_INFO) — two segments, glued only in the receiver's buffer.

#include <time.h>

#include <csignal>
#include <string>

#include "helpers.h"
#include "quoted.h"

constexpr int kAckWaitMs = 2000;  // on loopback the ACKs take microseconds; this only bounds the wait
constexpr const char* kUsage =
    "client [host] [port] [--case send-side|receive-side|nodelay|udp]   (default 127.0.0.1 8000 send-side)";

// Below main:
void show_send(int fd, const std::string& piece);       // sk.send(piece), and one printed line
[[noreturn]] void connect_failed(const sockaddr_in& server);
void show_segments_sent(int fd);                        // the wire: TCP_INFO, once all is ACKed
int send_datagrams(const sockaddr_in& server);          // --case udp

int main(int argc, char* argv[]) {
    const Options options = parse_options("client", argc, argv, /*server=*/false, kUsage);
    std::signal(SIGPIPE, SIG_IGN);  // `client | head -1`: a reader that went away is EPIPE, never death
    const sockaddr_in server = ipv4_address("client", options.host, options.port);
    if (options.which == Case::Udp) return send_datagrams(server);  // the contrast

    // 1. sk = socket.socket()
    Fd sk{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (sk.fd < 0) die("client: socket");
    if (options.which == Case::NoDelay) {  // the control: Nagle's algorithm off, small sends leave at once
        const int on = 1;
        if (::setsockopt(sk.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0) die("client: setsockopt");
        std::printf("TCP_NODELAY on\n");
    }
    // 2. sk.connect(('192.168.3.21', 8000)) — 127.0.0.1:8000 by default
    if (::connect(sk.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) connect_failed(server);
    // 3. two sends, deliberately NOT one
    show_send(sk.fd, "hello");  // sk.send(b'hello')
    show_send(sk.fd, "magic");  // sk.send(b'maigc')
    // 4. the wire (beyond the tutorial): how many TCP segments carried them
    show_segments_sent(sk.fd);
    // 5. sk.close() — sk closes itself (Fd's destructor); the server sees end of stream
    std::printf("close()\n");
    return 0;
}

// sk.send(piece), printed as: send(5) -> 5 bytes: "hello". MSG_NOSIGNAL: a closed peer is EPIPE.
void show_send(int fd, const std::string& piece) {
    ssize_t sent;
    do {  // EINTR: a signal came before any byte left; send the piece again
        sent = ::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) die("client: send");
    std::printf("send(%zu) -> %zd bytes: %s\n", piece.size(), sent,
                quoted(std::string_view(piece.data(), static_cast<std::size_t>(sent))).c_str());
    if (static_cast<std::size_t>(sent) != piece.size()) {  // cannot happen with 5 bytes, but check
        std::fprintf(stderr, "client: send: only %zd of %zu bytes sent\n", sent, piece.size());
        std::exit(1);
    }
}

// connect() failed: refused is the likely mistake (no server, or a --case udp one), so say so.
void connect_failed(const sockaddr_in& server) {
    if (errno != ECONNREFUSED) die("client: connect");
    std::fprintf(stderr, "client: connect: %s (nothing listens for TCP on %s: is the server running, and in "
                         "the same --case? A --case udp server has no TCP port)\n",
                 std::strerror(errno), to_string(server).c_str());
    std::exit(1);
}

// After the sends: wait (bounded) until the server has ACKed every byte — Nagle may still hold
// the second piece until the first is ACKed — then print how many data segments left.
void show_segments_sent(int fd) {
    tcp_info info{};
    const long long deadline = now_ms() + kAckWaitMs;
    int counted;
    while ((counted = read_tcp_info(fd, info)) == 1 && (info.tcpi_notsent_bytes > 0 || info.tcpi_unacked > 0) &&
           now_ms() < deadline) {
        const timespec step{0, 1000000};  // no event says "all ACKed": look again in 1 ms
        ::nanosleep(&step, nullptr);
    }
    if (counted < 0) die("client: getsockopt TCP_INFO");
    if (counted == 0) {
        std::printf("%s\n", kNoSegmentCount);
        return;
    }
    const bool all_acked = info.tcpi_notsent_bytes == 0 && info.tcpi_unacked == 0;
    std::printf("%u data segment%s left this socket (TCP_INFO tcpi_data_segs_out, %s)\n", info.tcpi_data_segs_out,
                plural(info.tcpi_data_segs_out), all_acked ? "all ACKed" : "not all ACKed within 2 s: so far");
}

// --case udp, the contrast: two sendto() calls are two datagrams. No connect: each names the address.
int send_datagrams(const sockaddr_in& server) {
    Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (sock.fd < 0) die("client: socket");
    for (const std::string piece : {"hello", "magic"}) {
        ssize_t sent;
        do {
            sent = ::sendto(sock.fd, piece.data(), piece.size(), 0, reinterpret_cast<const sockaddr*>(&server),
                            sizeof server);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) die("client: sendto");
        std::printf("sendto(%zu) -> %zd bytes: %s\n", piece.size(), sent,
                    quoted(std::string_view(piece.data(), static_cast<std::size_t>(sent))).c_str());
    }
    std::printf("(UDP: nothing comes back, so this client cannot tell whether anyone received the datagrams;"
                " a TCP server never sees them)\n");
    std::printf("close()\n");
    return 0;
}
