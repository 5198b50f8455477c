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
import time

import pytest

from conftest import WAIT_SECONDS, Process, program

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


def wait_until(condition, what, timeout=WAIT_SECONDS):
    """Bounded poll of something only the kernel can tell us (e.g. /proc)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.01)


def fd_count(process):
    return len(os.listdir(f"/proc/{process.popen.pid}/fd"))


def thread_count(process):
    return len(os.listdir(f"/proc/{process.popen.pid}/task"))


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
        result = lab.run(LESSON, name, *args)
        assert result.returncode == 2, (name, args)
        assert result.stderr_lines[0].startswith(f"{name}: ")
        assert result.stderr_lines[1].startswith(f"usage: {name} ")
        assert result.stdout == ""


def test_help_prints_usage_and_exits_0(lab):
    for name in ["client", *SERVERS]:
        result = lab.run(LESSON, name, "--help")
        assert result.returncode == 0
        assert result.stdout.startswith(f"usage: {name} ")


@pytest.mark.parametrize("name", SERVERS)
def test_port_already_taken_is_a_clear_bind_error(lab, name):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = lab.run(LESSON, name, "127.0.0.1", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert result.stderr.strip() == f"{name}: bind: Address already in use"
