// Lesson 03, a correct iterative server in C++ written as a student would (harness/test_lab_check.py):
// greeting, upper-cased echo of each recv, exit, b'' and resets end a session, SO_REUSEADDR.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>

static bool send_all(int fd, const char* data, size_t size) {
    for (size_t sent = 0; sent < size;) {
        ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (n < 0) return false;
        sent += static_cast<size_t>(n);
    }
    return true;
}

int main(int argc, char* argv[]) {
    if (argc != 3) return 2;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<unsigned short>(std::atoi(argv[2])));
    inet_pton(AF_INET, argv[1], &address.sin_addr);
    if (bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 || listen(server, 5) < 0) return 1;
    for (;;) {
        int conn = accept(server, nullptr, nullptr);
        if (conn < 0) continue;
        const std::string greeting = "连接成功";
        bool open = send_all(conn, greeting.data(), greeting.size());
        char buffer[1024];
        while (open) {
            ssize_t got = recv(conn, buffer, sizeof buffer, 0);
            if (got <= 0 || (got == 4 && std::memcmp(buffer, "exit", 4) == 0)) break;
            for (ssize_t i = 0; i < got; ++i) buffer[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(buffer[i])));
            open = send_all(conn, buffer, static_cast<size_t>(got));
        }
        close(conn);
    }
}
