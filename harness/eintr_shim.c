// eintr_shim.c — makes every other socket call of a lesson program fail with EINTR.
//
// A blocking call such as recv() returns -1 with errno EINTR when a signal handler runs
// while it waits (TLPI §21.5, UNP §5.9). Correct code restarts the call; code that treats
// EINTR as an error drops a connection (or dies) on the first harmless signal. Real signals
// arrive when they like, so a test that sends them cannot be sure to hit a call. This shim
// makes it certain: preloaded into a program (LD_PRELOAD), it stands between the program and
// libc and lets every other call below fail with EINTR BEFORE doing anything — exactly what
// the kernel does when a signal arrives before any data moved.
//
//   accept accept4 recv recvfrom recvmsg send sendto sendmsg poll
//
// Deliberately left alone:
//   connect      — an interrupted connect() is NOT simply restarted: the connection goes on
//                  in the background and a second connect() fails with EALREADY (UNP §16.3).
//   read, write  — stdio uses them for the program's own output; no lesson uses them on a
//                  socket (they read pipes and files, which are not what this shim tests).
//
// The shim announces itself once on stderr, so a test can tell it really ran.
// It also removes LD_PRELOAD from the program's environment: lessons 04 and 06 run shell
// commands, and neither the shim nor a sanitizer runtime preloaded before it is meant for them.
//
// Build and use (harness/conftest.py's eintr_env fixture does both):
//   cc -shared -fPIC -O1 -o eintr_shim.so eintr_shim.c -ldl
//   LD_PRELOAD=./eintr_shim.so ./server 127.0.0.1 0
// Under ASan or TSan the sanitizer runtime must come first: LD_PRELOAD=libasan.so.8:./eintr_shim.so
// The sanitizer's own wrapper of recv() then calls ours, and ours calls libc's.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static const char kAnnouncement[] = "eintr-shim: interrupting every other accept/recv/send/poll call\n";

static int calls;      // all interceptable calls of the process so far, from every thread
static int announced;  // 1 once kAnnouncement is on stderr

// True for every other call (the 1st, 3rd, 5th ...); then errno is EINTR and the wrapper
// returns -1 without calling libc. The retry that correct code makes goes through.
static int interrupt_now(void) {
    if (__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED) % 2 != 0) return 0;
    if (!__atomic_exchange_n(&announced, 1, __ATOMIC_RELAXED)) {
        if (write(STDERR_FILENO, kAnnouncement, sizeof kAnnouncement - 1) < 0) return 0;
    }
    errno = EINTR;
    return 1;
}

// The real function: the next definition of `name` after this library (libc's).
#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

__attribute__((constructor)) static void forget_ld_preload(void) { unsetenv("LD_PRELOAD"); }

// glibc declares the address parameters with __SOCKADDR_ARG / __CONST_SOCKADDR_ARG (in GNU C a
// "transparent union" of the sockaddr types); our definitions must use the same types.
int accept(int fd, __SOCKADDR_ARG address, socklen_t* length) {
    return interrupt_now() ? -1 : REAL(accept)(fd, address, length);
}
int accept4(int fd, __SOCKADDR_ARG address, socklen_t* length, int flags) {
    return interrupt_now() ? -1 : REAL(accept4)(fd, address, length, flags);
}
ssize_t recv(int fd, void* buf, size_t size, int flags) {
    return interrupt_now() ? -1 : REAL(recv)(fd, buf, size, flags);
}
ssize_t recvfrom(int fd, void* buf, size_t size, int flags, __SOCKADDR_ARG from, socklen_t* from_length) {
    return interrupt_now() ? -1 : REAL(recvfrom)(fd, buf, size, flags, from, from_length);
}
ssize_t recvmsg(int fd, struct msghdr* message, int flags) {
    return interrupt_now() ? -1 : REAL(recvmsg)(fd, message, flags);
}
ssize_t send(int fd, const void* buf, size_t size, int flags) {
    return interrupt_now() ? -1 : REAL(send)(fd, buf, size, flags);
}
ssize_t sendto(int fd, const void* buf, size_t size, int flags, __CONST_SOCKADDR_ARG to, socklen_t to_length) {
    return interrupt_now() ? -1 : REAL(sendto)(fd, buf, size, flags, to, to_length);
}
ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
    return interrupt_now() ? -1 : REAL(sendmsg)(fd, message, flags);
}
int poll(struct pollfd* fds, nfds_t count, int timeout_ms) {
    return interrupt_now() ? -1 : REAL(poll)(fds, count, timeout_ms);
}
