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
//   udp      two sendto() calls: two datagrams

#include <netinet/tcp.h>

#include <string>

#include "helpers.h"

constexpr const char* kUsage =
    "client [host] [port] [--case send-side|receive-side|nodelay|udp]   (default 127.0.0.1 8000 send-side)";

int main(int argc, char* argv[]) {
    const Options options = parse_options("client", argc, argv, /*zero_port_allowed=*/false, kUsage);
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
        die("client: connect");
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
    // 4. close: sk.close() — sock closes itself (Fd's destructor); the server sees end of stream
    std::printf("close()\n");
    return 0;
}
