"""Lesson 03: the link loop and the communication loop (tutorial 001, 002 §1, 004).

Both servers speak the same protocol (a greeting line, then every line echoed
upper-cased, "exit" ends the session), so every protocol test runs against
both of them. The tests that tell them apart look at the ORDER of the server's
log lines and of the bytes the clients see, never at timing.
"""

import errno
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import EINTR_ANNOUNCEMENT, WAIT_SECONDS, Process, program, wait_until

LESSON = "03_loop_server"
SERVERS = ["server", "threaded_server"]
GREETING = "连接成功".encode()
MAX_LINE = 1024


@pytest.fixture(params=SERVERS)
def server(lab, request):
    return lab.server(LESSON, request.param)


class Peer:
    """A plain Python client that speaks the lesson's line protocol."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS)
        self.name = "127.0.0.1:%d" % self.sock.getsockname()[1]  # as the server logs it
        self.pending = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection closed; unfinished line {self.pending!r}")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line

    def greeted(self):
        assert self.line() == GREETING
        return self

    def expect_closed(self):
        """The server closed its end: recv returns b'' (nothing else arrives first)."""
        assert self.pending == b""
        assert self.sock.recv(4096) == b""

    def has_nothing_to_read(self):
        readable, _, _ = select.select([self.sock], [], [], 0)
        return not readable and self.pending == b""

    def reset(self):
        """Abort the connection: SO_LINGER with a zero timeout makes close() send RST, not FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


class InteractiveClient(Process):
    """The C++ client with its stdin kept open: the test types one line at a time."""

    def __init__(self, lab, port):
        super().__init__([program(LESSON, "client"), "127.0.0.1", str(port)], stdin_bytes=b"")
        lab.started.append(self)

    def _feed(self, data):
        pass  # keep stdin open (Process would write the bytes and close it)

    def type(self, line):
        self.popen.stdin.write(line.encode() + b"\n")
        self.popen.stdin.flush()


def log_index(server, pattern):
    """Where (which line of the server's log) a line matching `pattern` is; waits for it."""
    index, _ = server.wait_for(pattern)
    return index


def said(server, peer):
    """Every message the server logged for one client, in order."""
    prefix = f"client {peer} said "
    return [line[len(prefix):] for line in server.stdout_lines if line.startswith(prefix)]


def expect_served(server, port):
    """A fresh client gets the greeting and a correct reply: the server is still fine."""
    peer = Peer(port).greeted()
    peer.send(b"still serving?\n")
    assert peer.line() == b"STILL SERVING?"
    peer.send(b"exit\n")
    peer.expect_closed()
    peer.close()
    server.wait_for(rf"^client {peer.name} left \(sent exit\)$")


# --- the protocol, against both servers -------------------------------------------------

def test_two_clients_one_after_another(lab, server):
    first = lab.run(LESSON, "client", "127.0.0.1", str(server.port), stdin="hello\nsocket lab\n")
    second = lab.run(LESSON, "client", "127.0.0.1", str(server.port), stdin="second client\nexit\n")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    # No prompt when stdin is not a terminal: only the greeting and the replies.
    assert first.stdout_lines == ["连接成功", "HELLO", "SOCKET LAB"]
    assert second.stdout_lines == ["连接成功", "SECOND CLIENT"]
    # The link loop: the same server took both, the second after the first had left.
    first_left, match = server.wait_for(r"^client (\S+) left \(sent exit\)$")  # EOF made the client send exit
    second_connected, second_match = server.wait_for(rf"^client (?!{re.escape(match.group(1))} )(\S+) connected$")
    assert first_left < second_connected
    server.wait_for(rf"^client {re.escape(second_match.group(1))} left \(sent exit\)$")  # its log is complete
    assert said(server, match.group(1)) == ["5 bytes: hello", "10 bytes: socket lab", "4 bytes: exit"]
    assert said(server, second_match.group(1)) == ["13 bytes: second client", "4 bytes: exit"]


def test_exit_ends_the_session_and_the_server_closes(lab, server):
    peer = Peer(server.port).greeted()
    peer.send(b"exit\n")
    peer.expect_closed()  # no echo of "exit": the server closed the connection
    server.wait_for(rf"^client {peer.name} left \(sent exit\)$")
    expect_served(server, server.port)


def test_client_killed_mid_session_is_logged_and_the_next_is_served(lab, server):
    client = InteractiveClient(lab, server.port)
    client.wait_for("^连接成功$")
    client.type("hello")
    client.wait_for("^HELLO$")
    _, match = server.wait_for(r"^client (\S+) connected$")
    client.popen.kill()  # SIGKILL: no "exit", no clean-up code runs in the client
    client.popen.wait()
    # The kernel closes a dead process's sockets with a FIN: recv returns 0 (tutorial 002 §1, Linux).
    server.wait_for(rf"^client {match.group(1)} left \(recv returned 0\)$")
    expect_served(server, server.port)


def test_client_that_resets_the_connection_is_logged_and_the_next_is_served(lab, server):
    peer = Peer(server.port).greeted()
    peer.send(b"about to reset\n")
    assert peer.line() == b"ABOUT TO RESET"
    peer.reset()
    # RST instead of FIN: recv fails with ECONNRESET (Windows' ConnectionResetError, tutorial 002 §1).
    server.wait_for(rf"^client {peer.name} left \(connection reset\)$")
    expect_served(server, server.port)


def test_lines_split_or_joined_by_tcp_are_still_lines(lab, server):
    peer = Peer(server.port).greeted()
    peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for piece in (b"he", b"llo\nwor", b"ld\nthree\nli", b"nes at once\n"):
        peer.send(piece)
    assert [peer.line() for _ in range(4)] == [b"HELLO", b"WORLD", b"THREE", b"LINES AT ONCE"]
    peer.send(b"\xe4\xbd\xa0\xe5\xa5\xbd \x00 bytes\n")  # UTF-8 and a NUL byte are bytes like any other
    assert peer.line() == b"\xe4\xbd\xa0\xe5\xa5\xbd \x00 BYTES"
    server.wait_for(rf"^client {re.escape(peer.name)} said 13 bytes: lines at once$")  # read the log that far
    assert said(server, peer.name)[:4] == ["5 bytes: hello", "5 bytes: world", "5 bytes: three",
                                          "13 bytes: lines at once"]


def test_a_line_at_the_limit_is_echoed_a_longer_one_ends_the_session(lab, server):
    peer = Peer(server.port).greeted()
    longest = bytes(random.Random(3).choice(b"abcxyz") for _ in range(MAX_LINE))
    peer.send(longest + b"\n")
    assert peer.line() == longest.upper()
    peer.send(b"y" * (MAX_LINE + 1))  # no '\n' needed: it is already too long
    peer.expect_closed()
    server.wait_for(rf"^client {peer.name} left \(line longer than {MAX_LINE} bytes\)$")
    expect_served(server, server.port)


def test_empty_lines_are_not_sent_by_the_client(lab, server):
    client = lab.run(LESSON, "client", "127.0.0.1", str(server.port), stdin="a\n\nb\n\nexit\nnot read\n")
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines == ["连接成功", "A", "B"]
    assert client.stderr_lines == ["client: empty line not sent (an empty message would leave "
                                   "the server waiting)"] * 2
    _, match = server.wait_for(r"^client (\S+) left \(sent exit\)$")
    # The server received exactly three messages, none of them empty.
    assert said(server, match.group(1)) == ["1 bytes: a", "1 bytes: b", "4 bytes: exit"]


def test_empty_lines_are_not_sent_on_the_wire(lab):
    # A server written here records every byte the client puts on the wire.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = lab.start(LESSON, "client", "127.0.0.1", str(listener.getsockname()[1]),
                           stdin="one\n\n\ntwo\n")
        listener.settimeout(WAIT_SECONDS)
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(WAIT_SECONDS)
            conn.sendall(GREETING + b"\n")
            wire = b""
            while not wire.endswith(b"exit\n"):
                chunk = conn.recv(4096)
                assert chunk, f"client closed early; sent {wire!r}"
                wire += chunk
                if wire.endswith(b"\n") and not wire.endswith(b"exit\n"):
                    conn.sendall(wire.split(b"\n")[-2].upper() + b"\n")
            assert conn.recv(4096) == b""  # after exit the client closes: nothing else was sent
    client.wait()
    assert wire == b"one\ntwo\nexit\n"  # EOF on stdin became "exit"
    assert client.stdout_lines == ["连接成功", "ONE", "TWO"]
    assert len(client.stderr_lines) == 2


def test_the_client_prompts_only_on_a_terminal(lab, server):
    controller, terminal = os.openpty()
    try:
        client = subprocess.Popen([program(LESSON, "client"), "127.0.0.1", str(server.port)],
                                  stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.write(controller, b"hi\nexit\n")
        out, err = client.communicate(timeout=WAIT_SECONDS)
    finally:
        os.close(controller)
        os.close(terminal)
    assert client.returncode == 0, err
    assert out.decode() == "连接成功\n请输入发送的消息: HI\n请输入发送的消息: "


def test_the_client_reports_a_server_that_vanished(lab):
    server = lab.server(LESSON)
    client = InteractiveClient(lab, server.port)
    client.wait_for("^连接成功$")
    server.popen.kill()
    server.popen.wait()
    client.type("anyone there?")
    client.wait()
    assert client.returncode == 1
    assert client.stderr_lines[-1] in ("client: recv: the server closed the connection",
                                       "client: recv: Connection reset by peer",
                                       "client: send: Broken pipe")


# --- what tells the two servers apart ---------------------------------------------------

def test_iterative_server_makes_a_second_client_wait(lab):
    server = lab.server(LESSON, "server")
    first = Peer(server.port).greeted()
    server.wait_for(rf"^client {first.name} connected$")
    second = Peer(server.port)  # connect() returns: the kernel queued it; nobody accept()ed it yet
    second.send(b"queued\n")   # waits in the kernel too
    first.send(b"still me\n")
    assert first.line() == b"STILL ME"
    # The server has answered the first client after the second connected, and the second
    # has not even been greeted: the server is still inside the first one's loop.
    assert second.has_nothing_to_read()
    first.send(b"exit\n")
    first.expect_closed()
    assert second.line() == GREETING  # now it is the second one's turn
    assert second.line() == b"QUEUED"
    order = [log_index(server, rf"^client {first.name} said 8 bytes: still me$"),
             log_index(server, rf"^client {first.name} left \(sent exit\)$"),
             log_index(server, rf"^client {second.name} connected$"),
             log_index(server, rf"^client {second.name} said 6 bytes: queued$")]
    assert order == sorted(order)


def test_threaded_server_serves_two_clients_at_once(lab):
    server = lab.server(LESSON, "threaded_server")
    first = Peer(server.port).greeted()
    second = Peer(server.port).greeted()  # greeted while the first is still connected
    second.send(b"second\n")
    assert second.line() == b"SECOND"
    first.send(b"first\n")
    assert first.line() == b"FIRST"
    second.send(b"exit\n")
    second.expect_closed()
    first.send(b"exit\n")
    first.expect_closed()
    # The second client came, talked and left while the first was connected all along.
    order = [log_index(server, rf"^client {first.name} connected$"),
             log_index(server, rf"^client {second.name} connected$"),
             log_index(server, rf"^client {second.name} said 6 bytes: second$"),
             log_index(server, rf"^client {first.name} said 5 bytes: first$"),
             log_index(server, rf"^client {second.name} left \(sent exit\)$"),
             log_index(server, rf"^client {first.name} left \(sent exit\)$")]
    assert order == sorted(order)


# --- SO_REUSEADDR ------------------------------------------------------------------------

def time_wait_on(port):
    """Is there a TCP connection in TIME_WAIT (state 06) whose local port is `port`?"""
    with open("/proc/net/tcp") as table:
        next(table)
        for row in table:
            fields = row.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "06":
                return True
    return False


@pytest.mark.parametrize("name", SERVERS)
def test_restart_on_the_same_port_while_time_wait_lingers(lab, name):
    first = lab.server(LESSON, name)
    port = first.port
    peer = Peer(port).greeted()
    first.wait_for(rf"^client {peer.name} connected$")
    # The server dies first with the connection open: its side closes first, so its side
    # is the one that ends up in TIME_WAIT once our side closes too.
    first.popen.kill()
    first.popen.wait()
    peer.expect_closed()
    peer.close()
    wait_until(lambda: time_wait_on(port), f"a TIME_WAIT connection holds port {port}")
    # Control: a socket WITHOUT SO_REUSEADDR cannot bind the port now.
    with socket.socket() as plain:
        with pytest.raises(OSError) as refused:
            plain.bind(("127.0.0.1", port))
        assert refused.value.errno == errno.EADDRINUSE
    # The lesson's server sets SO_REUSEADDR: it binds and serves at once.
    second = lab.server(LESSON, name, "127.0.0.1", str(port))
    assert second.port == port
    assert time_wait_on(port)  # the old connection was still there while we bound
    expect_served(second, port)


# --- command line ------------------------------------------------------------------------

def test_bad_arguments_exit_2_with_usage(lab):
    for name, args in [("client", ["127.0.0.1", "abc"]), ("client", ["127.0.0.1", "0"]),
                       ("client", ["127.0.0.1", "1", "extra"]), ("server", ["127.0.0.1", "70000"]),
                       ("threaded_server", ["127.0.0.1", "-1"]),
                       ("threaded_server", ["127.0.0.1", "1", "extra"])]:
        lab.expect_usage_error(LESSON, name, *args)


def test_help_prints_usage_and_exits_0(lab):
    for name in ["client", *SERVERS]:
        lab.expect_help(LESSON, name)


@pytest.mark.parametrize("name", SERVERS)
def test_port_already_taken_is_a_clear_bind_error(lab, name):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = lab.run(LESSON, name, "127.0.0.1", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert result.stderr.strip() == f"{name}: bind: Address already in use"


# --- torture and load (issue 6) ----------------------------------------------------------

def idle_counts(server, threaded):
    """The server's thread and fd counts when idle, measured after one client came and went
    (sanitizer runtimes start helper threads of their own when the first thread starts)."""
    peer = Peer(server.port).greeted()
    threads, fds = server.thread_count(), server.fd_count()  # now: one client's fd (and thread)
    peer.send(b"exit\n")
    peer.expect_closed()
    peer.close()
    idle_threads, idle_fds = threads - (1 if threaded else 0), fds - 1
    wait_until(lambda: server.thread_count() == idle_threads, f"{idle_threads} threads")
    wait_until(lambda: server.fd_count() == idle_fds, f"{idle_fds} fds")
    return idle_threads, idle_fds


def echo_replies(lines):
    return b"".join(line.upper() + b"\n" for line in lines)


def test_threaded_server_200_clients_200_messages_each(lab):
    import selectors
    server = lab.server(LESSON, "threaded_server")
    idle_threads, idle_fds = idle_counts(server, threaded=True)
    rng = random.Random(200)
    letters = b"abcdefghijklmnopqrstuvwxyz "
    peers, outgoing, expected, received = [], {}, {}, {}
    for number in range(200):  # connect one by one: the listen queue only holds 5
        peer = Peer(server.port).greeted()
        lines = [b"client %03d message %03d " % (number, m) + bytes(rng.choice(letters) for _ in range(rng.randrange(40)))
                 for m in range(200)]
        peers.append(peer)
        outgoing[peer] = b"".join(line + b"\n" for line in lines)
        expected[peer] = echo_replies(lines)  # every reply names its sender: a misrouted one shows
        received[peer] = b""
    assert server.thread_count() == idle_threads + 200  # one thread per client, all alive at once
    # All 200 clients write their lines in random-sized pieces (cutting lines anywhere)
    # while reading replies, all at the same time.
    selector = selectors.DefaultSelector()
    for peer in peers:
        peer.sock.setblocking(False)
        selector.register(peer.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, peer)
    unfinished = len(peers)
    deadline = time.monotonic() + 6 * WAIT_SECONDS
    while unfinished:
        assert time.monotonic() < deadline, "replies stopped coming"
        for key, events in selector.select(timeout=1):
            peer = key.data
            if events & selectors.EVENT_WRITE and outgoing[peer]:
                sent = peer.sock.send(outgoing[peer][:rng.randrange(1, 3000)])
                outgoing[peer] = outgoing[peer][sent:]
                if not outgoing[peer]:
                    selector.modify(peer.sock, selectors.EVENT_READ, peer)
            if events & selectors.EVENT_READ:
                chunk = peer.sock.recv(65536)
                assert chunk, f"{peer.name}: server closed early"
                received[peer] += chunk
                assert expected[peer].startswith(received[peer]), f"{peer.name}: wrong reply bytes"
                if received[peer] == expected[peer]:
                    selector.unregister(peer.sock)
                    unfinished -= 1
    selector.close()
    for peer in peers:  # byte for byte, each client got exactly its own replies
        assert received[peer] == expected[peer]
        peer.sock.settimeout(WAIT_SECONDS)  # blocking again, but never for ever
        peer.send(b"exit\n")
        peer.expect_closed()
        peer.close()
    server.wait_for(rf"^client {peers[-1].name} left \(sent exit\)$")
    wait_until(lambda: server.thread_count() == idle_threads, f"threads back to {idle_threads}")
    wait_until(lambda: server.fd_count() == idle_fds, f"fds back to {idle_fds}")
    assert sum(1 for line in server.stdout_lines if line.endswith(" left (sent exit)")) == 1 + 200


DEPARTURE = re.compile(r"^client (\S+) left \((.*)\)$")


def wait_for_departures(server, count):
    """Wait until the server has logged `count` departures; return them in order."""
    def departures():
        return [m for m in map(DEPARTURE.match, list(server.stdout_lines)) if m]
    wait_until(lambda: len(departures()) >= count, f"{count} clients left\n{server.stdout}")
    return departures()


def die_at_random_point(lab, server, rng, kind):
    """One client that comes, talks a little and dies in the way `kind` says.
    Returns the reasons the server may log for it."""
    if kind == "sigkill":  # a real client process, killed
        client = InteractiveClient(lab, server.port)
        client.wait_for("^连接成功$")
        for number in range(rng.randrange(3)):
            client.type(f"line {number}")
            client.wait_for(f"^LINE {number}$")
        if rng.random() < 0.5:
            client.type("maybe unanswered")  # a reply may be unread when it dies: then RST
        client.popen.kill()
        client.popen.wait()
        return {"recv returned 0", "connection reset"}
    peer = Peer(server.port)
    if kind == "vanish":  # gone before even reading the greeting
        if rng.random() < 0.5:
            peer.reset()
        else:
            peer.close()
        return {"recv returned 0", "connection reset", "send: Broken pipe"}
    peer.greeted()
    for number in range(rng.randrange(3)):
        peer.send(b"line %d\n" % number)
        assert peer.line() == b"LINE %d" % number
    unfinished = b"mid-li"[:rng.randrange(7)]  # maybe half a line
    peer.send(unfinished)
    if kind == "rst":
        peer.reset()
        return {"connection reset"}
    if kind == "half_close":  # done sending, still reading: the server closes its side
        peer.sock.shutdown(socket.SHUT_WR)
        peer.expect_closed()
    elif kind == "too_long":
        peer.send(b"x" * (MAX_LINE + 1))
        try:
            peer.expect_closed()
        except ConnectionResetError:
            pass  # the server closed with some of our bytes unread: that close sends RST, not FIN
        peer.close()
        return {f"line longer than {MAX_LINE} bytes"}
    peer.close()  # "fin": plain close in the middle of things
    return {"recv returned 0"}


@pytest.mark.parametrize("name", SERVERS)
def test_100_clients_dying_at_random_points_leak_nothing(lab, name):
    server = lab.server(LESSON, name)
    idle_threads, idle_fds = idle_counts(server, threaded=name == "threaded_server")
    rng = random.Random(100)
    kinds = ["sigkill"] * 15 + ["vanish"] * 15 + ["rst"] * 25 + ["half_close"] * 20 + ["fin"] * 15 + ["too_long"] * 10
    rng.shuffle(kinds)
    for number, kind in enumerate(kinds, start=1):
        reasons = die_at_random_point(lab, server, rng, kind)
        # The server logs every departure with its cause; we wait for it before the next client.
        departures = wait_for_departures(server, number + 1)  # + the one idle_counts sent
        assert departures[-1].group(2) in reasons, (kind, departures[-1].group(0))
    expect_served(server, server.port)
    wait_until(lambda: server.thread_count() == idle_threads, f"threads back to {idle_threads}")
    wait_until(lambda: server.fd_count() == idle_fds, f"fds back to {idle_fds}")


# --- signals, SIGPIPE and EINTR ----------------------------------------------------------

@pytest.mark.parametrize("name", SERVERS)
def test_signals_during_io_do_not_disturb_the_server(lab, name):
    server = lab.server(LESSON, name)
    peer = Peer(server.port).greeted()
    stop = threading.Event()

    def pester():  # signals the servers ignore, plus Ctrl-Z / fg, as fast as we can
        while not stop.is_set():
            for signum in (signal.SIGWINCH, signal.SIGCHLD, signal.SIGURG, signal.SIGSTOP, signal.SIGCONT):
                server.signal(signum)
            time.sleep(0.0005)

    pesterer = threading.Thread(target=pester)
    pesterer.start()
    try:
        for batch in range(40):
            lines = [b"batch %d line %d " % (batch, n) + b"z" * (batch * 10) for n in range(50)]
            peer.send(b"".join(line + b"\n" for line in lines))
            assert b"".join(peer.line() + b"\n" for _ in lines) == echo_replies(lines)
    finally:
        stop.set()
        pesterer.join()
        server.signal(signal.SIGCONT)
    peer.send(b"exit\n")
    peer.expect_closed()
    expect_served(server, server.port)
    assert server.popen.poll() is None
    assert server.stop().stderr == ""  # all of it read: nothing to report


@pytest.mark.parametrize("name", SERVERS)
def test_writing_to_a_client_that_is_gone_is_not_fatal(lab, name):
    # The classic SIGPIPE: the client sends many lines and closes without reading. The
    # server's first reply makes the client's kernel answer RST; the next send() fails
    # with EPIPE, which would raise SIGPIPE (and kill the server) without MSG_NOSIGNAL.
    server = lab.server(LESSON, name)
    lines = b"".join(b"line %d\n" % n for n in range(100))
    if name == "server":  # queue the doomed client behind a busy one: it is gone before accept()
        busy = Peer(server.port).greeted()
        doomed = Peer(server.port)
        doomed.send(lines)
        doomed.close()
        busy.send(b"exit\n")
        busy.expect_closed()
        reasons = {"send: Broken pipe"}
    else:
        doomed = Peer(server.port)
        doomed.send(lines)
        doomed.close()
        reasons = {"send: Broken pipe", "connection reset"}
    _, match = server.wait_for(rf"^client {doomed.name} left \((.*)\)$")
    assert match.group(1) in reasons
    expect_served(server, server.port)


@pytest.mark.parametrize("name", SERVERS)
def test_a_closed_log_pipe_is_not_fatal(name):
    # Whoever reads the server's stdout goes away: writing a log line then raises SIGPIPE.
    server = subprocess.Popen([program(LESSON, name), "127.0.0.1", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = int(server.stdout.readline().decode().rsplit(":", 1)[1])
        server.stdout.close()
        for _ in range(2):  # each session writes log lines into the broken pipe
            peer = Peer(port).greeted()
            peer.send(b"anyone reading the log?\n")
            assert peer.line() == b"ANYONE READING THE LOG?"
            peer.send(b"exit\n")
            peer.expect_closed()
            peer.close()
        assert server.poll() is None
    finally:
        server.kill()
        _, err = server.communicate()
    assert not any(marker.encode() in err for marker in ("Sanitizer", "runtime error"))


@pytest.mark.parametrize("name", SERVERS)
def test_interrupted_calls_are_restarted(lab, name, eintr_env):
    server = lab.server(LESSON, name, "127.0.0.1", "0", env=eintr_env(program(LESSON, name)))
    client_env = eintr_env(program(LESSON, "client"))
    for number in range(3):
        client = lab.run(LESSON, "client", "127.0.0.1", str(server.port), env=client_env,
                         stdin=f"client {number}\n" + "x" * MAX_LINE + "\nlast\n")
        assert client.returncode == 0, client.stderr
        assert client.stdout_lines == ["连接成功", f"CLIENT {number}", "X" * MAX_LINE, "LAST"]
        assert client.stderr_lines == [EINTR_ANNOUNCEMENT]
    peer = Peer(server.port).greeted()
    peer.send(b"exit\n")
    peer.expect_closed()
    server.wait_for(rf"^client {peer.name} left \(sent exit\)$")
    assert len([line for line in server.stdout_lines if line.endswith(" left (sent exit)")]) == 4
    assert server.stop().stderr_lines == [EINTR_ANNOUNCEMENT]  # and no accept error
