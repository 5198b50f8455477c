// Lesson 05 — sticky packets (粘包), sending side: two small sends, b'hello' and b'magic'.
//
// Usage:    ./client [host] [port] [--case send-side|receive-side|nodelay|udp]
//           default 127.0.0.1 8000, --case send-side
// Partner:  ./server [host] [port] --case (the same case)
// Mirrors:  tutorial 002 §4.1 会发生粘包的两种情况 (客户端: sk.send(b'hello'); sk.send(b'maigc');
//           sk.close() — 'maigc' is the tutorial's typo for 'magic').
//
// Prints every send() with what it returned. The sender does the same thing in
// send-side and receive-side: the difference is only in how the server receives.
//   nodelay  sets TCP_NODELAY first: each send() leaves at once, no Nagle (002 §3)
//   udp      two sendto() calls: two datagrams; nothing comes back, so this client cannot tell
//            whether anyone received them (it says so)
// Beyond the tutorial, it shows the wire: once the server has ACKed every byte, how many TCP
// segments carried the two sends (TCP_INFO) — two segments, glued only in the receiver's buffer.

#include <time.h>

#include <csignal>
#include <string>

#include "helpers.h"
#include "quoted.h"
#include "time_limits.h"

constexpr int kAckWaitMs = 2000;  // on loopback the ACKs take microseconds; this only bounds the wait
constexpr const char* kUsage =
    "client [host] [port] [--case send-side|receive-side|nodelay|udp]   (default 127.0.0.1 8000 send-side)";

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

int main(int argc, char* argv[]) {
    const Options options = parse_options("client", argc, argv, /*server=*/false, kUsage);
    std::signal(SIGPIPE, SIG_IGN);  // `client | head -1`: a reader that went away is EPIPE, never death
    const Case which = options.which;
    const bool udp = which == Case::Udp;
    const sockaddr_in server = ipv4_address("client", options.host, options.port);

    // 1. socket
    Fd sock{::socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0)};
    if (sock.fd < 0) die("client: socket");
    if (which == Case::NoDelay) {  // switch Nagle's algorithm off: small sends are not held back
        const int on = 1;
        if (::setsockopt(sock.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0) die("client: setsockopt");
        std::printf("TCP_NODELAY on\n");
    }
    // 2. connect (TCP only; UDP names the address in each sendto)
    if (!udp && ::connect(sock.fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) < 0) {
        if (errno != ECONNREFUSED) die("client: connect");
        std::fprintf(stderr, "client: connect: %s (nothing listens for TCP on %s: is the server running, and in "
                             "the same --case? A --case udp server has no TCP port)\n",
                     std::strerror(errno), to_string(server).c_str());
        return 1;
    }

    // 3. two sends, deliberately NOT one: sk.send(b'hello'); sk.send(b'magic')
    for (const std::string piece : {"hello", "magic"}) {
        ssize_t sent;
        do {  // EINTR: a signal came before any byte left; send the piece again
            sent = udp ? ::sendto(sock.fd, piece.data(), piece.size(), 0,
                                  reinterpret_cast<const sockaddr*>(&server), sizeof server)
                       : ::send(sock.fd, piece.data(), piece.size(), MSG_NOSIGNAL);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) die(udp ? "client: sendto" : "client: send");
        std::printf("%s(%zu) -> %zd bytes: %s\n", udp ? "sendto" : "send", piece.size(), sent,
                    quoted(std::string_view(piece.data(), static_cast<std::size_t>(sent))).c_str());
        if (static_cast<std::size_t>(sent) != piece.size()) {  // cannot happen with 5 bytes, but check
            std::fprintf(stderr, "client: send: only %zd of %zu bytes sent\n", sent, piece.size());
            return 1;
        }
    }
    // 4. the wire (beyond the tutorial): TCP counts its segments; UDP gets no word back at all
    if (udp) {
        std::printf("(UDP: nothing comes back, so this client cannot tell whether anyone received the datagrams;"
                    " a TCP server never sees them)\n");
    } else {
        show_segments_sent(sock.fd);
    }
    // 5. close: sk.close() — sock closes itself (Fd's destructor); the server sees end of stream
    std::printf("close()\n");
    return 0;
}
