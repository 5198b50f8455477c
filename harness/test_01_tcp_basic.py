"""Lesson 01: one TCP client, one upper-cased reply (tutorial 000 §二.1, 003 §二)."""

import contextlib
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import EINTR_ANNOUNCEMENT, WAIT_SECONDS, program, scaled, seconds_arg, wait_until

LESSON = "01_tcp_basic"


def test_client_gets_the_reply_upper_cased(lab):
    server = lab.server(LESSON)
    client = lab.run(LESSON, "client", "127.0.0.1", str(server.port))
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines[-1] == "HELLO SOCKET"
    server.wait()
    assert server.returncode == 0, server.stderr
    assert 'received 12 bytes: "hello socket"' in server.stdout_lines


def test_server_prints_the_clients_real_address(lab):
    # One promise: the address. Whether the reply is upper-cased is the first test's promise.
    server = lab.server(LESSON)
    client = lab.run(LESSON, "client", "127.0.0.1", str(server.port), "abc xyz")
    assert client.returncode == 0, client.stderr
    # The client reports the port the kernel gave it ...
    local = re.fullmatch(r"connected from 127\.0\.0\.1:(\d+) to 127\.0\.0\.1:(\d+)", client.stdout_lines[0])
    assert local and int(local.group(2)) == server.port
    # ... and the server saw exactly that address come out of accept().
    server.wait_for(rf"^client connected from 127\.0\.0\.1:{local.group(1)}$")


def test_a_python_client_gets_the_same_upper_cased_reply(lab):
    server = lab.server(LESSON)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        client_port = sock.getsockname()[1]
        sock.sendall("hello socket".encode("utf-8"))
        sock.shutdown(socket.SHUT_WR)  # done sending: the server's recv() returns 0
        reply = b""
        while chunk := sock.recv(1024):
            reply += chunk
    assert reply == b"HELLO SOCKET"
    server.wait_for(rf"^client connected from 127\.0\.0\.1:{client_port}$")


def test_a_long_message_arrives_whole(lab):
    # Longer than one recv(1024): the server must loop, not take the first piece.
    message = "abcdefghij" * 500
    server = lab.server(LESSON)
    client = lab.run(LESSON, "client", "127.0.0.1", str(server.port), message)
    assert client.stdout_lines[-1].lower() == message  # whole; upper-casing is the first test's promise
    server.wait()
    # The log shows the first 1024 bytes (one recv(1024) of the tutorial) and the count.
    assert f'received {len(message)} bytes, the first 1024: "{message[:1024]}"' in server.stdout_lines


def test_refused_connection_is_reported(lab):
    # A port that is certainly closed: bind one, never listen on it.
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        client = lab.run(LESSON, "client", "127.0.0.1", str(port))
    assert client.returncode == 1
    assert client.stderr.strip() == "client: connect: Connection refused"


def test_bad_arguments_exit_2_with_usage(lab):
    for name, args in [("client", ["127.0.0.1", "abc"]), ("client", ["127.0.0.1", "70000"]),
                          ("client", ["127.0.0.1", "0"]), ("server", ["127.0.0.1", "-1"]),
                          ("server", ["127.0.0.1", "1", "extra"])]:
        lab.expect_usage_error(LESSON, name, *args)


def test_help_prints_usage_and_exits_0(lab):
    for name in ("server", "client"):
        lab.expect_help(LESSON, name)


def test_port_already_taken_is_a_clear_bind_error(lab):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = lab.run(LESSON, "server", "127.0.0.1", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == "server: bind: Address already in use"


def accept_the_message(listener):
    """As the lesson's server does: accept one client and read its message up to its shutdown(SHUT_WR).
    Returns the connection, still open, and the message."""
    conn, _ = listener.accept()
    conn.settimeout(WAIT_SECONDS)
    message = b""
    while chunk := conn.recv(1024):
        message += chunk
    return conn, message


def test_the_client_gives_up_on_a_silent_server(lab):
    # A server that accepts, reads the message and then neither answers nor closes: the
    # tutorial's client would wait in recv() forever; ours gives up after --wait seconds.
    wait = seconds_arg(1)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(WAIT_SECONDS)
        started = time.monotonic()
        client = lab.start(LESSON, "client", "--wait", wait, "127.0.0.1", str(listener.getsockname()[1]))
        conn, message = accept_the_message(listener)
        with conn:  # kept open, silent, until the client has gone
            client.wait()
            elapsed = time.monotonic() - started
    assert message == b"hello socket"
    assert client.returncode == 1
    assert client.stderr_lines == [f"client: the server did not answer for {wait} s (--wait {wait}): giving up"]
    assert len(client.stdout_lines) == 1 and client.stdout_lines[0].startswith("connected from ")  # no reply
    assert scaled(1) <= elapsed < scaled(1) + scaled(5), elapsed  # not before the limit, and soon after it


def test_a_slow_server_within_the_limit_still_gets_its_reply(lab):
    # --wait bounds silence, it does not cut a slow answer short: a server silent for 1 s
    # after the message, then answering, is an ordinary exchange under a 5 s limit.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(WAIT_SECONDS)
        client = lab.start(LESSON, "client", "--wait", seconds_arg(5), "127.0.0.1",
                           str(listener.getsockname()[1]), "slow")
        conn, message = accept_the_message(listener)
        with conn:
            time.sleep(scaled(1))  # the silence under test, a fifth of the client's limit
            conn.sendall(message.upper())
        client.wait()  # closed: the client's recv() returns 0 and it prints the reply
    assert (client.returncode, client.stderr) == (0, "")
    assert client.stdout_lines[-1] == "SLOW"


# --- Promises: the wire only, so `lab.py check 01 --server/--client CMD` runs them on anyone's program.

SILENCE = scaled(5)  # how long a promise waits for the server's next bytes before it calls it silent


def exchange(port, message, until_close=False):
    """As the lesson's client does: send `message`, shutdown(SHUT_WR), read the reply (all of
    len(message) bytes, or up to the close). Returns (reply, how it ended: "complete", "closed",
    "reset", or "silent": no byte for SILENCE seconds once all of the message had gone out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SILENCE) as sock:
        sender = threading.Thread(target=send_then_finish, args=(sock, message), daemon=True)
        sender.start()  # a thread: a long message must be read back while it is still going out
        reply, deadline = bytearray(), time.monotonic() + 3 * WAIT_SECONDS
        while until_close or len(reply) < len(message):
            try:
                chunk = sock.recv(1 << 20)
            except ConnectionResetError:
                return bytes(reply), "reset"
            except TimeoutError:
                if sender.is_alive() and time.monotonic() < deadline:
                    continue  # the server is still reading the message: a server may answer at the end
                return bytes(reply), "silent"
            if not chunk:
                return bytes(reply), "closed"
            reply += chunk
        return bytes(reply), "complete"


def send_then_finish(sock, message):
    """Send the message (bytes, or a sequence of pieces), then shutdown(SHUT_WR)."""
    with contextlib.suppress(OSError):  # a server that closed early resets the rest
        for piece in (message,) if isinstance(message, bytes) else message:
            sock.sendall(piece)
        sock.shutdown(socket.SHUT_WR)  # done sending: the server's recv() returns b''


def reply_whole(message, reply, ended):
    """Why `reply` is not message.upper() in full, in a student's terms (None: it is)."""
    if reply == message.upper():
        return None
    if reply.lower() == message[:len(reply)].lower() and len(reply) < len(message):
        how = {"closed": "then the server closed the connection", "reset": "then the connection was reset",
               "silent": f"then nothing more for {SILENCE:g} s"}[ended]
        unread = " (the server closed with part of the message unread: one recv taken as one message?)"
        return f"{len(reply)} of the {len(message)} bytes came back, {how}" + (unread if ended == "reset" else "")
    return f"sent {len(message)} bytes {message[:20]!r}..., got back {len(reply)} bytes {reply[:20]!r}..."


@pytest.mark.promise("tutorial", ("a short message comes back upper-cased", "短消息大写后发回"),
                     hint=("send the reply on the connection accept() returned: conn.send(data.upper())",
                           "在 accept() 返回的连接上发送回复：conn.send(data.upper())"))
def test_promise_a_short_message_comes_back_upper_cased(subject):
    server = subject.server(LESSON)
    reply, ended = exchange(server.port, b"hello socket")  # the length expected, not the close
    assert reply == b"HELLO SOCKET", f"sent b'hello socket', got back {reply!r} ({ended})"


@pytest.mark.promise("tutorial", ("the server closes the connection after its reply", "服务端回复后关闭连接"),
                     hint=("recv() returning b'' not handled: when the client has finished sending, recv() returns "
                           "b''; stop there (if not data: break) and close the connection",
                           "没有处理 recv() 返回 b''：客户端发完后 recv() 返回 b''，这时应退出循环"
                           "（if not data: break）并关闭连接"))
def test_promise_the_server_closes_after_its_reply(subject):
    server = subject.server(LESSON)
    reply, ended = exchange(server.port, b"hello socket", until_close=True)
    assert ended != "silent", f"the reply {reply!r} came, but the connection was still open {SILENCE:g} s later"


@pytest.mark.promise("socketlab", ("a message longer than 1024 bytes comes back whole", "超过 1024 字节的消息完整发回"),
                     hint=("one recv taken as one message: recv(1024) returns at most 1024 bytes, and TCP may cut "
                           "anywhere; loop until recv() returns b''",
                           "把一次 recv 当成一条消息：recv(1024) 最多返回 1024 字节，TCP 可以在任何地方切开；"
                           "应循环 recv 直到返回 b''"))
def test_promise_a_long_message_comes_back_whole(subject):
    server = subject.server(LESSON)
    message = b"abcdefghij" * 500
    why = reply_whole(message, *exchange(server.port, message))
    assert why is None, why


def streamed_exchange(port, piece, count):
    """exchange() for a message too long to keep: `piece` sent `count` times, and the reply
    compared with piece.upper() as it comes, nothing kept (a test's memory stays small, and so
    does the peak RSS that the torture tests below measure through this process's children).
    Returns (bytes that came back right, how it ended: as exchange(), or "different")."""
    expected, total = piece.upper(), len(piece) * count
    with socket.create_connection(("127.0.0.1", port), timeout=SILENCE) as sock:
        sender = threading.Thread(target=send_then_finish, args=(sock, (piece,) * count), daemon=True)
        sender.start()
        right, deadline = 0, time.monotonic() + 3 * WAIT_SECONDS
        while right < total:
            try:
                chunk = memoryview(sock.recv(1 << 20))
            except ConnectionResetError:
                return right, "reset"
            except TimeoutError:
                if sender.is_alive() and time.monotonic() < deadline:
                    continue  # the server is still reading the message: a server may answer at the end
                return right, "silent"
            if not chunk:
                return right, "closed"
            while chunk:
                offset = right % len(piece)
                size = min(len(piece) - offset, len(chunk))
                if chunk[:size] != expected[offset:offset + size]:
                    return right, "different"
                right, chunk = right + size, chunk[size:]
        return right, "complete"


@pytest.mark.promise("socketlab", ("a 16 MiB message comes back whole", "16 MiB 的消息完整发回"),
                     hint=("send without a loop: send() may take only part of the bytes (always on a socket with a "
                           "timeout); use sendall(), or loop until every byte is sent",
                           "send 没有循环：send() 可能只发出一部分字节（设了超时的 socket 上更是如此）；"
                           "用 sendall()，或循环直到每个字节都发出"))
def test_promise_a_16_mib_message_comes_back_whole(subject):
    server = subject.server(LESSON)
    piece, count = bytes(range(ord("a"), ord("z") + 1)) * 40330, 16  # 16 pieces of 1 MiB and a bit
    right, ended = streamed_exchange(server.port, piece, count)
    how = {"closed": "then the server closed the connection", "reset": "then the connection was reset",
           "silent": f"then nothing more for {SILENCE:g} s", "different": "then a byte that was not the message's, "
           "upper-cased"}.get(ended)
    unread = " (the server closed with part of the message unread: one recv taken as one message?)"
    assert ended == "complete", f"{right} of the {len(piece) * count} bytes came back, {how}" + \
        (unread if ended == "reset" else "")


def serve_one(listener, reply_for):
    """A stand-in server: accept one client, one recv, send reply_for(what came), close."""
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(WAIT_SECONDS)
        conn.sendall(reply_for(conn.recv(1024)))


@pytest.mark.promise("tutorial", ("the client prints the reply to its message", "客户端打印对其消息的回复"),
                     hint=("output not flushed? print the reply (print(data.decode(), flush=True)) and end",
                           "输出没有刷新？打印回复（print(data.decode(), flush=True)）然后结束"), side="client")
def test_promise_the_client_prints_the_reply(subject):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(WAIT_SECONDS)
        client = subject.client(LESSON, listener.getsockname()[1])
        serve_one(listener, lambda message: b"REPLY TO " + message.upper())
        client.wait()
    assert any("REPLY TO " in line for line in client.stdout_lines), \
        f"the server answered, but the client printed {client.stdout[-200:]!r} (exit status {client.returncode})"


@pytest.mark.promise("socketlab", ("the client prints a 5000-byte reply whole", "客户端完整打印 5000 字节的回复"),
                     hint=("one recv taken as one message: recv(1024) returns at most 1024 bytes; loop until recv() "
                           "returns b''", "把一次 recv 当成一条消息：recv(1024) 最多返回 1024 字节；应循环直到返回 b''"),
                     side="client")
def test_promise_the_client_prints_a_long_reply_whole(subject):
    long_reply = b"R" * 4999 + b"!"
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(WAIT_SECONDS)
        client = subject.client(LESSON, listener.getsockname()[1])
        serve_one(listener, lambda message: long_reply)
        client.wait()
    printed = client.stdout.count("R")
    assert printed == 4999 and "R!" in client.stdout, f"the server sent 5000 bytes, the client printed {printed + ('R!' in client.stdout)} of them"


# -----------------------------------------------------------------------------------------------
# Torture: load, signals, EINTR and hostile peers (@pytest.mark.torture). The promises above
# must also hold under these; CTest labels them `torture` too (`ctest -L torture`, pytest -m torture).


@pytest.mark.torture
def test_interrupted_calls_are_restarted(lab, eintr_env):
    # harness/eintr_shim.c fails every other accept/recv/send in both programs with EINTR,
    # as a signal arriving during the call would: the exchange must not notice.
    server = lab.server(LESSON, env=eintr_env(program(LESSON, "server")))
    client = lab.run(LESSON, "client", "127.0.0.1", str(server.port), "x" * 5000,
                     env=eintr_env(program(LESSON, "client")))
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines[-1].lower() == "x" * 5000  # all of it; upper-casing is the first test's promise
    assert client.stderr_lines == [EINTR_ANNOUNCEMENT]  # the shim really ran
    server.wait()
    assert server.returncode == 0, server.stderr
    assert 'received 5000 bytes, the first 1024: "' + "x" * 1024 + '"' in server.stdout_lines
    assert server.stderr_lines == [EINTR_ANNOUNCEMENT]


def peak_rss_mib(pid):
    """The process's peak resident memory so far (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


@pytest.mark.torture
def test_a_256_mib_stream_is_answered_without_keeping_it(lab):
    # The server streams: each piece goes back upper-cased as it comes, and only the first
    # 1024 bytes are kept for the log. It used to keep the whole stream: RSS 259 MiB.
    server = lab.server(LESSON)
    piece, pieces = b"s" * (1 << 20), 256
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_SECONDS) as sock:
        sender = threading.Thread(target=lambda: [sock.sendall(piece) for _ in range(pieces)])
        sender.start()
        answered = 0
        while answered < len(piece) * pieces:  # read the answer while sending, or both block
            reply = sock.recv(1 << 20)
            assert reply and reply.count(b"S") == len(reply)
            answered += len(reply)
        sender.join(WAIT_SECONDS)
        peak = peak_rss_mib(server.popen.pid)  # all of it has passed through; the server still runs
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""
    assert peak < 64, f"peak RSS {peak:.1f} MiB for a 256 MiB stream"
    server.wait()
    assert server.returncode == 0, server.stderr
    assert server.stdout_lines[-1] == f'received {len(piece) * pieces} bytes, the first 1024: "' + "s" * 1024 + '"'



@pytest.mark.torture
def test_a_256_mib_reply_is_printed_without_keeping_it(lab, tmp_path):
    # A server that answers with 256 MiB and then closes: the client prints each piece as it
    # comes and keeps none. It used to keep the whole reply until the close (peak RSS 259 MiB
    # here; 1,027 MiB for a 1 GiB reply). Its stdout goes to a file, checked after. The peak is
    # read from /proc (VmHWM) once the whole reply is printed and before the server closes, while
    # the client still waits: wait4's ru_maxrss would also count the pytest process it forked from.
    piece, pieces = b"S" * (1 << 20), 256
    printed = tmp_path / "stdout"

    def reply_printed():  # "connected from ...\n", then the reply, but for what stdio still buffers
        with open(printed, "rb") as output:
            first = output.readline()
        return first.endswith(b"\n") and printed.stat().st_size >= len(first) + len(piece) * (pieces - 1)

    with socket.create_server(("127.0.0.1", 0)) as listener, open(printed, "wb") as stdout:
        listener.settimeout(WAIT_SECONDS)
        client = subprocess.Popen([program(LESSON, "client"), "--wait", seconds_arg(20), "127.0.0.1",
                                   str(listener.getsockname()[1])],
                                  stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)
        try:
            conn, message = accept_the_message(listener)
            with conn:
                for _ in range(pieces):
                    conn.sendall(piece)
                wait_until(reply_printed, "the client printed all but the last MiB of the reply")
                peak_mib = peak_rss_mib(client.pid)
            client.wait(WAIT_SECONDS)
            stderr = client.stderr.read().decode()
        finally:
            if client.returncode is None:
                client.kill()
                client.wait()
            client.stderr.close()
    assert message == b"hello socket"
    assert (client.returncode, stderr) == (0, "")
    with open(printed, "rb") as output:  # "connected from ...", the whole reply, the closing newline
        assert output.readline().startswith(b"connected from ")
        reply_size = printed.stat().st_size - output.tell() - 1
        assert reply_size == len(piece) * pieces
        assert all(output.read(len(piece)) == piece for _ in range(pieces))
        assert output.read() == b"\n"
    assert peak_mib < 64, f"peak RSS {peak_mib:.1f} MiB for a 256 MiB reply"
