"""Lesson 02: UDP datagrams, upper-cased replies (tutorial 000 §二.2, 001, 002 §3, 003 §二).

What the lesson claims, each checked here with real processes on 127.0.0.1:
- each sendto is one datagram and each recvfrom returns exactly one: never glued, even
  when two are already queued together (tutorial 002: "UDP永远不会粘包");
- an empty datagram is a real message (002: "对于空消息");
- a datagram longer than recvfrom's 1024-byte buffer is truncated, and the server says so;
- a lost datagram is never resent, so the client gives up after its timeout, clearly;
- nothing a client sends stops the server.
"""

import re
import signal
import socket
import struct
import time

import pytest

from conftest import EINTR_ANNOUNCEMENT, WAIT_SECONDS, log_reader_gone, program, scaled, seconds_arg, wait_until

LESSON = "02_udp_basic"
BUFFER = 1024  # recvfrom(1024) in server.cpp and client.cpp
# For runs where a reply is expected: long enough for the slowest (sanitizer) build.
# The client exits as soon as its replies are in, so a passing test never waits this long.
PATIENT = ["--timeout", seconds_arg(20)]


def quoted(data: bytes) -> str:
    """How the lesson's programs show a datagram's bytes on a log line (socket_core.h quoted(),
    for the ASCII and well-formed UTF-8 the tests send)."""
    text = bytearray(b'"')
    for byte in data:
        if byte in b'"\\':
            text += b"\\" + bytes([byte])
        elif byte == ord("\n"):
            text += b"\\n"
        elif byte == ord("\t"):
            text += b"\\t"
        elif byte == ord("\r"):
            text += b"\\r"
        elif byte < 0x20 or byte == 0x7F:
            text += b"\\x%02x" % byte
        else:
            text.append(byte)
    text += b'"'
    return text.decode("utf-8", errors="backslashreplace")  # as conftest decodes output lines


def recvfrom_line(size, peer, kept_bytes):
    """The line server and client print for one datagram received."""
    line = f"recvfrom -> {size} bytes from {peer[0]}:{peer[1]}"
    if len(kept_bytes) < size:
        line += f" (truncated to {len(kept_bytes)}: the rest is lost)"
    return f"{line}: {quoted(kept_bytes)}"


def exactly(line):
    """A pattern for Process.wait_for that matches this whole line and nothing else."""
    return "^" + re.escape(line) + "$"


def sendto_line(data, peer):
    return f"sendto -> {len(data)} bytes to {peer[0]}:{peer[1]}: {quoted(data)}"


def udp_socket():
    """A Python UDP socket on 127.0.0.1, any free port; never blocks for long."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT_SECONDS)
    return sock


def queued_bytes(port):
    """Memory that datagrams waiting in 127.0.0.1:port's receive queue use (/proc/net/udp rx_queue)."""
    local = "%08X:%04X" % (struct.unpack("=I", socket.inet_aton("127.0.0.1"))[0], port)
    with open("/proc/net/udp") as table:
        for row in table:
            fields = row.split()
            if fields[1] == local:
                return int(fields[4].split(":")[1], 16)
    pytest.fail(f"no UDP socket on 127.0.0.1:{port} in /proc/net/udp")


def queue_cost_of_one_datagram(size):
    """What one queued datagram of `size` bytes adds to rx_queue, measured on a scratch socket."""
    with udp_socket() as scratch, udp_socket() as sender:
        port = scratch.getsockname()[1]
        sender.sendto(b"x" * size, ("127.0.0.1", port))
        wait_until(lambda: queued_bytes(port) > 0, "the scratch datagram is queued")
        return queued_bytes(port)


def assert_still_serving(lab, server):
    """The server is still running and still answers a normal client."""
    assert server.popen.poll() is None, server.stderr
    client = lab.run(LESSON, "client", *PATIENT, "127.0.0.1", str(server.port), "still there?")
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines[-1] == recvfrom_line(12, ("127.0.0.1", server.port), b"STILL THERE?")
    assert server.popen.poll() is None, server.stderr


def test_client_gets_the_reply_upper_cased(lab):
    server = lab.server(LESSON)
    client = lab.run(LESSON, "client", *PATIENT, "127.0.0.1", str(server.port))
    assert client.returncode == 0, client.stderr
    to_server = ("127.0.0.1", server.port)
    assert client.stdout_lines == [sendto_line(b"hello socket", to_server),
                                   recvfrom_line(12, to_server, b"HELLO SOCKET")]
    server.wait_for(r'^recvfrom -> 12 bytes from 127\.0\.0\.1:\d+: "hello socket"$')
    assert server.popen.poll() is None  # unlike lesson 01, it serves forever (001's while True)


def test_a_python_client_gets_the_same_answer_and_is_named_as_the_sender(lab):
    server = lab.server(LESSON)
    with udp_socket() as client:
        client.sendto("hello socket".encode("utf-8"), ("127.0.0.1", server.port))
        data, sender = client.recvfrom(65536)
        me = client.getsockname()
    assert (data, sender) == (b"HELLO SOCKET", ("127.0.0.1", server.port))
    # recvfrom told the server exactly who sent the datagram: our address and port.
    server.wait_for(exactly(recvfrom_line(12, me, b"hello socket")))


def test_two_datagrams_queued_together_are_received_as_two(lab):
    # Stop the server, queue both datagrams, prove from the kernel's own count that
    # both are waiting, then let the server go: its first recvfrom could see both, yet
    # returns only the first (TCP would hand over "helloworld": lesson 05).
    server = lab.server(LESSON)
    address = ("127.0.0.1", server.port)
    one_datagram = queue_cost_of_one_datagram(5)
    server.signal(signal.SIGSTOP)
    try:
        wait_until(lambda: open(f"/proc/{server.popen.pid}/stat").read().rsplit(")", 1)[1].split()[0] in "tT",
                   "the server is stopped")
        with udp_socket() as sender:
            sender.sendto(b"hello", address)
            sender.sendto(b"world", address)
            wait_until(lambda: queued_bytes(server.port) >= 2 * one_datagram,
                       "both datagrams wait in the server's queue")
            server.signal(signal.SIGCONT)
            replies = [sender.recvfrom(65536), sender.recvfrom(65536)]
            me = sender.getsockname()
    finally:
        server.signal(signal.SIGCONT)
    assert replies == [(b"HELLO", address), (b"WORLD", address)]
    first, _ = server.wait_for(exactly(recvfrom_line(5, me, b"hello")))
    second, _ = server.wait_for(exactly(recvfrom_line(5, me, b"world")))
    assert second == first + 1


def test_the_clients_two_datagrams_reach_a_python_receiver_as_two(lab):
    one_datagram = queue_cost_of_one_datagram(5)
    with udp_socket() as receiver:
        address = receiver.getsockname()
        client = lab.start(LESSON, "client", *PATIENT, *map(str, address), "hello", "world")
        client.wait_for("^sendto -> 5 bytes .*\"world\"$")
        wait_until(lambda: queued_bytes(address[1]) >= 2 * one_datagram,
                   "both datagrams wait in the receiver's queue")
        # A buffer big enough for both, still one datagram per recvfrom.
        first, sender = receiver.recvfrom(65536)
        second, sender_again = receiver.recvfrom(65536)
        assert (first, second) == (b"hello", b"world")
        assert sender == sender_again
        receiver.sendto(first.upper(), sender)
        receiver.sendto(second.upper(), sender)
        client.wait()
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines == [sendto_line(b"hello", address), sendto_line(b"world", address),
                                   recvfrom_line(5, address, b"HELLO"), recvfrom_line(5, address, b"WORLD")]


def test_server_and_client_keep_each_datagram_separate_and_in_order(lab):
    server = lab.server(LESSON)
    messages = ["hello", "world", "hi"]
    client = lab.run(LESSON, "client", *PATIENT, "127.0.0.1", str(server.port), *messages)
    assert client.returncode == 0, client.stderr
    to_server = ("127.0.0.1", server.port)
    assert client.stdout_lines[3:] == [recvfrom_line(len(m), to_server, m.upper().encode()) for m in messages]
    first, match = server.wait_for(r"^recvfrom -> 5 bytes from 127\.0\.0\.1:(\d+): \"hello\"$")
    client_address = ("127.0.0.1", int(match.group(1)))
    server.wait_for(r'"hi"$')
    assert server.stdout_lines[first:first + 3] == [recvfrom_line(len(m), client_address, m.encode())
                                                   for m in messages]


def test_an_empty_datagram_is_a_real_message(lab):
    server = lab.server(LESSON)
    to_server = ("127.0.0.1", server.port)
    # The C++ client: "" in the middle is one datagram of 0 bytes, and gets its own empty reply.
    client = lab.run(LESSON, "client", *PATIENT, "127.0.0.1", str(server.port), "a", "", "b")
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines == [sendto_line(b"a", to_server), sendto_line(b"", to_server),
                                   sendto_line(b"b", to_server), recvfrom_line(1, to_server, b"A"),
                                   recvfrom_line(0, to_server, b""), recvfrom_line(1, to_server, b"B")]
    first, match = server.wait_for(r'^recvfrom -> 1 bytes from 127\.0\.0\.1:(\d+): "a"$')
    server.wait_for(r'"b"$')
    assert server.stdout_lines[first + 1] == recvfrom_line(0, ("127.0.0.1", int(match.group(1))), b"")
    # A Python client: recvfrom gives b'' together with the sender — a message, not "end of stream".
    with udp_socket() as python_client:
        python_client.sendto(b"", to_server)
        assert python_client.recvfrom(65536) == (b"", to_server)
        server.wait_for(exactly(recvfrom_line(0, python_client.getsockname(), b"")))
    assert_still_serving(lab, server)


def test_a_datagram_longer_than_the_buffer_is_truncated_and_reported(lab):
    server = lab.server(LESSON)
    to_server = ("127.0.0.1", server.port)
    long_message = b"abcdefghij" * 200  # 2000 bytes: more than recvfrom(1024) can hold
    with udp_socket() as python_client:
        python_client.sendto(long_message, to_server)
        reply, _ = python_client.recvfrom(65536)
        me = python_client.getsockname()
    kept = long_message[:BUFFER]
    assert reply == kept.upper()  # the server only ever had the first 1024 bytes to answer with
    server.wait_for(exactly(recvfrom_line(len(long_message), me, kept)))
    # The C++ client sees it too: it sent 2000 bytes and got 1024 back.
    client = lab.run(LESSON, "client", *PATIENT, "127.0.0.1", str(server.port), long_message.decode())
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines == [sendto_line(long_message, to_server),
                                   recvfrom_line(BUFFER, to_server, kept.upper())]
    assert_still_serving(lab, server)


def test_bytes_are_bytes(lab):
    # NUL, newline, quotes and UTF-8 travel unchanged; only a-z are upper-cased (like bytes.upper()).
    server = lab.server(LESSON)
    to_server = ("127.0.0.1", server.port)
    with udp_socket() as python_client:
        me = python_client.getsockname()
        for message in [b'a\x00b\n\t"q"\\\x7f\x01', "你好 socket".encode("utf-8")]:
            python_client.sendto(message, to_server)
            assert python_client.recvfrom(65536) == (message.upper(), to_server)
            server.wait_for(exactly(recvfrom_line(len(message), me, message)))
    assert_still_serving(lab, server)


def test_bytes_that_could_drive_a_terminal_are_escaped_in_the_log(lab):
    # ESC (colours, cursor moves), CR (overwrites the line), U+202E (shows the rest backwards),
    # a C1 control (U+009B, a one-byte CSI) and bytes that are not UTF-8: all escaped; 你好 stays.
    server = lab.server(LESSON)
    message = b"\x1b[31mred\r\xe2\x80\xae\xc2\x9b\xff\xe4\xbd " + "你好".encode()
    with udp_socket() as python_client:
        me = python_client.getsockname()
        python_client.sendto(message, ("127.0.0.1", server.port))
        assert python_client.recvfrom(65536)[0] == message.upper()
    shown = '"\\x1b[31mred\\r\\u202e\\u009b\\xff\\xe4\\xbd 你好"'
    server.wait_for(exactly(f"recvfrom -> {len(message)} bytes from {me[0]}:{me[1]}: {shown}"))


def test_a_sender_that_is_gone_before_the_reply_does_not_stop_the_server(lab):
    server = lab.server(LESSON)
    with udp_socket() as vanishing:
        vanishing.sendto(b"bye", ("127.0.0.1", server.port))
        me = vanishing.getsockname()
    # The reply goes to a closed port; on an unconnected UDP socket that is silently lost.
    server.wait_for(exactly(recvfrom_line(3, me, b"bye")))
    assert_still_serving(lab, server)


@pytest.mark.parametrize("timeout_args, shown", [(["--timeout", "0.5"], "0.5"), ([], "2")],
                         ids=["timeout-0.5", "default-2"])
def test_no_reply_is_a_clear_timeout_not_a_hang(lab, timeout_args, shown):
    # A UDP socket that receives but never answers: exactly what a lost reply looks like.
    with udp_socket() as silent:
        address = silent.getsockname()
        started = time.monotonic()
        client = lab.run(LESSON, "client", *timeout_args, *map(str, address))
        elapsed = time.monotonic() - started
        assert silent.recv(65536) == b"hello socket"  # the client did send; nobody answered
    assert client.returncode == 1
    assert client.stdout_lines == [sendto_line(b"hello socket", address)]
    assert client.stderr_lines == [f"client: recvfrom: no reply within {shown} s "
                                   "(UDP does not resend lost datagrams; is the server running?)"]
    assert elapsed >= float(shown)


def test_a_lost_reply_is_reported_after_the_replies_that_came(lab):
    with udp_socket() as lossy:
        address = lossy.getsockname()
        client = lab.start(LESSON, "client", "--timeout", "0.5", *map(str, address), "one", "two")
        first, sender = lossy.recvfrom(65536)
        second, _ = lossy.recvfrom(65536)
        assert (first, second) == (b"one", b"two")
        lossy.sendto(first.upper(), sender)  # the reply to "two" is "lost": never sent
        client.wait()
    assert client.returncode == 1
    assert client.stdout_lines[2:] == [recvfrom_line(3, address, b"ONE")]
    assert client.stderr.startswith("client: recvfrom: no reply within 0.5 s")


def ignored_line(size, stranger, server):
    """The line the client prints for a datagram that did not come from the server."""
    return (f"recvfrom -> {size} bytes from {stranger[0]}:{stranger[1]}: "
            f"not the server ({server[0]}:{server[1]}), ignored")


def test_only_the_servers_datagram_is_taken_as_the_reply(lab):
    # UDP has no connection: any program can send to the client's port, before the server answers.
    # The client compares recvfrom's address with the server's: the stranger's datagram is named
    # and ignored (its bytes never shown), and the server's reply, after it, is the reply.
    with udp_socket() as server, udp_socket() as stranger:
        address, stranger_address = server.getsockname(), stranger.getsockname()
        client = lab.start(LESSON, "client", *PATIENT, *map(str, address))
        message, client_address = server.recvfrom(65536)
        stranger.sendto(b"INJECTED", client_address)
        client.wait_for(exactly(ignored_line(8, stranger_address, address)))
        server.sendto(message.upper(), client_address)
        client.wait()
    assert (client.returncode, client.stderr) == (0, "")
    assert client.stdout_lines == [sendto_line(b"hello socket", address),
                                   ignored_line(8, stranger_address, address),
                                   recvfrom_line(12, address, b"HELLO SOCKET")]
    assert "INJECTED" not in client.stdout + client.stderr


def test_bad_arguments_exit_2_with_usage(lab):
    for name, args in [("client", ["127.0.0.1", "abc"]), ("client", ["127.0.0.1", "70000"]),
                          ("client", ["127.0.0.1", "0"]), ("client", ["--timeout"]),
                          ("client", ["--timeout", "abc"]), ("client", ["--timeout", "0"]),
                          ("client", ["--timeout", "-1"]), ("client", ["--timeout", "nan"]),
                          ("client", ["--bogus"]), ("server", ["127.0.0.1", "-1"]),
                          ("server", ["127.0.0.1", "1", "extra"])]:
        lab.expect_usage_error(LESSON, name, *args)


def test_help_prints_usage_and_exits_0(lab):
    for name, flag in [("server", "--help"), ("client", "--help"), ("client", "-h")]:
        lab.expect_help(LESSON, name, flag)


def test_port_already_taken_is_a_clear_bind_error(lab):
    with udp_socket() as taken:
        result = lab.run(LESSON, "server", "127.0.0.1", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert result.stderr.strip() == "server: bind: Address already in use"


# -----------------------------------------------------------------------------------------------
# Torture: load, signals, EINTR and hostile peers (@pytest.mark.torture). The promises above

# --- Promises: the wire only, so `lab.py check 02 --server CMD` runs them on anyone's program.

SILENCE = scaled(5)  # how long a promise waits for a reply before it calls the server silent
LOOP_HINT = ("serve in a loop: while True: data, addr = server.recvfrom(1024); server.sendto(data.upper(), addr)",
             "循环服务：while True: data, addr = server.recvfrom(1024); server.sendto(data.upper(), addr)")


def replies(port, *datagrams):
    """Send each datagram from one socket, then take one reply per datagram: [(bytes, sender)]."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(SILENCE)
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))
        answers = []
        for datagram in datagrams:
            try:
                answers.append(sock.recvfrom(65536))
            except TimeoutError:
                raise AssertionError(f"sent {len(datagrams)} datagram(s), got {len(answers)} repl"
                                     f"{'y' if len(answers) == 1 else 'ies'}; none to {datagram!r} within "
                                     f"{SILENCE:g} s") from None
        return answers


@pytest.mark.promise("tutorial", ("a datagram comes back upper-cased, from the server's port",
                                  "数据报大写后从服务端的端口发回"),
                     hint=("answer to the address recvfrom() returned: server.sendto(data.upper(), client_addr)",
                           "发回 recvfrom() 返回的地址：server.sendto(data.upper(), client_addr)"))
def test_promise_a_datagram_comes_back_upper_cased(subject):
    server = subject.server(LESSON, udp=True)
    [(reply, sender)] = replies(server.port, b"hello socket")
    assert reply == b"HELLO SOCKET", f"sent b'hello socket', got back {reply!r}"
    assert sender == ("127.0.0.1", server.port), f"the reply came from {sender}, not from the server's port"


@pytest.mark.promise("socketlab", ("each datagram gets a reply of its own, in order", "每个数据报各得一个回复，按顺序"),
                     hint=LOOP_HINT)
def test_promise_each_datagram_gets_its_own_reply(subject):
    server = subject.server(LESSON, udp=True)
    answers = [reply for reply, _ in replies(server.port, b"hello", b"world", b"again")]
    assert answers == [b"HELLO", b"WORLD", b"AGAIN"], f"sent b'hello', b'world', b'again'; got back {answers}"


@pytest.mark.promise("socketlab", ("an empty datagram gets an empty reply", "空数据报得到一个空回复"),
                     hint=("an empty datagram is a message: recvfrom() returns b'' with its sender (UDP has no "
                           "connection to end); answer it like any other",
                           "空数据报也是一条消息：recvfrom() 返回 b'' 和发送方（UDP 没有可结束的连接）；"
                           "像其他消息一样回复它"))
def test_promise_an_empty_datagram_gets_an_empty_reply(subject):
    server = subject.server(LESSON, udp=True)
    answers = [reply for reply, _ in replies(server.port, b"", b"after")]
    assert answers == [b"", b"AFTER"], f"sent b'' then b'after'; got back {answers}"


# must also hold under these; CTest labels them `torture` too (`ctest -L torture`, pytest -m torture).


@pytest.mark.torture
def test_interrupted_calls_are_restarted(lab, eintr_env):
    # harness/eintr_shim.c fails every other recvfrom/sendto in both programs with EINTR, as a
    # signal arriving during the call would: every datagram and reply still goes through, and
    # the server then answers a second client.
    server = lab.server(LESSON, env=eintr_env(program(LESSON, "server")))
    to_server = ("127.0.0.1", server.port)
    messages = ["hello", "", "world"]
    for number in range(2):
        client = lab.run(LESSON, "client", *PATIENT, "127.0.0.1", str(server.port), *messages,
                         env=eintr_env(program(LESSON, "client")))
        assert client.returncode == 0, client.stderr
        assert client.stdout_lines == [*(sendto_line(m.encode(), to_server) for m in messages),
                                       *(recvfrom_line(len(m), to_server, m.upper().encode()) for m in messages)]
        assert client.stderr_lines == [EINTR_ANNOUNCEMENT], f"client {number}"  # the shim really ran
    wait_until(lambda: len(server.stdout_lines) == 1 + 2 * len(messages), "the server's log of both clients")
    def any_client(line):
        return re.sub(r" from 127\.0\.0\.1:\d+:", " from a client:", line)
    assert [any_client(line) for line in server.stdout_lines[1:]] == 2 * [
        any_client(recvfrom_line(len(m), ("127.0.0.1", 0), m.encode())) for m in messages]
    assert server.stop().stderr_lines == [EINTR_ANNOUNCEMENT]  # and no recvfrom/sendto error


@pytest.mark.torture
def test_a_log_reader_that_goes_away_does_not_kill_the_server():
    # `server | head -1`: head exits after the ready line; the server's next log line meets
    # EPIPE, and SIGPIPE at its default would kill it (exit status 141 in a shell).
    with log_reader_gone(LESSON) as (server, port):
        with udp_socket() as sock:
            for message in (b"still", b"here"):
                sock.sendto(message, ("127.0.0.1", port))
                assert sock.recvfrom(BUFFER)[0] == message.upper()
        assert server.poll() is None



@pytest.mark.torture
def test_a_stranger_sending_all_the_time_does_not_hold_the_client_past_its_timeout(lab):
    # A datagram from someone else is ignored, and it does not restart the wait: the --timeout
    # is a deadline for the server's reply, so a stranger sending every 20 ms (the server never
    # answers) still has the client give up after 1 s.
    with udp_socket() as silent, udp_socket() as stranger:
        address, stranger_address = silent.getsockname(), stranger.getsockname()
        started = time.monotonic()
        client = lab.start(LESSON, "client", "--timeout", "1", *map(str, address))
        _, client_address = silent.recvfrom(65536)
        sent = 0
        while client.popen.poll() is None and time.monotonic() - started < WAIT_SECONDS:
            stranger.sendto(b"INJECTED", client_address)
            sent += 1
            time.sleep(0.02)  # the pace of the stranger, not a wait for anything
        client.wait()
        elapsed = time.monotonic() - started
    assert client.returncode == 1
    assert client.stderr_lines == ["client: recvfrom: no reply within 1 s "
                                   "(UDP does not resend lost datagrams; is the server running?)"]
    ignored = ignored_line(8, stranger_address, address)
    assert client.stdout_lines[0] == sendto_line(b"hello socket", address)
    assert client.stdout_lines[1:] and set(client.stdout_lines[1:]) == {ignored}, client.stdout_lines[1:4]
    assert 1 <= elapsed < 1 + 5, (elapsed, sent)  # the deadline held; without it: WAIT_SECONDS
