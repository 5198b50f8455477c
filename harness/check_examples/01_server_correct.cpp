// Lesson 01, a correct server in C++ written as a student would (for harness/test_lab_check.py).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

int main(int argc, char* argv[]) {
    if (argc != 3) return 2;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<unsigned short>(std::atoi(argv[2])));
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) return 2;
    if (bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 || listen(server, 5) < 0) {
        std::perror("server: bind/listen");
        return 1;
    }
    int conn = accept(server, nullptr, nullptr);
    char buffer[1024];
    ssize_t got;
    while ((got = recv(conn, buffer, sizeof buffer, 0)) > 0) {
        for (ssize_t i = 0; i < got; ++i) buffer[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(buffer[i])));
        for (ssize_t sent = 0, n; sent < got; sent += n)
            if ((n = send(conn, buffer + sent, static_cast<size_t>(got - sent), MSG_NOSIGNAL)) < 0) return 1;
    }
    close(conn);
    close(server);
    return 0;
}
