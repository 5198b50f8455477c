"""Lesson 07: file upload with a dict header — intact, atomic, safe (tutorial 001 文件传输实例, 004 end).

Digests are computed by `xxhsum -H2` (Debian's xxhash package), never by the programs under test.
Hostile headers and names are sent raw from Python, and every test asserts the upload folder's
exact contents afterwards: nothing under a final name unless the upload was whole and verified,
and no temporary file left behind.
"""

import array
import fcntl
import json
import os
import random
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from conftest import (EINTR_ANNOUNCEMENT, READY_LINE, WAIT_SECONDS, Process, cpu_seconds, program, recv_exact, reset,
                      scaled, seconds_arg, wait_until)

LESSON = "07_file_transfer"


# --- the protocol, spoken from Python --------------------------------------------------------

def frame(body: bytes) -> bytes:
    return struct.pack("!I", len(body)) + body


def header(filename, size, digest="xxh3-128") -> bytes:
    return json.dumps({"filename": filename, "size": size, "digest": digest}).encode()


def recv_frame(sock):
    (length,) = struct.unpack("!I", recv_exact(sock, 4))
    return json.loads(recv_exact(sock, length))


def xxh128(data: bytes) -> str:
    """The digest as the command-line tool computes it: `xxhsum -H2` prints HEX  stdin."""
    out = subprocess.run(["xxhsum", "-H2"], input=data, capture_output=True, check=True).stdout
    return out.split()[0].decode()


def connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_SECONDS)


def raw_upload(server, name, data, digest=None):
    """A well-behaved upload by hand; returns the server's final verdict (or its refusal)."""
    with connect(server) as sock:
        sock.sendall(frame(header(name, len(data))))
        ready = recv_frame(sock)
        if ready != {"ok": True, "ready": True}:
            return ready
        sock.sendall(data)
        sock.sendall(frame(json.dumps({"digest": digest or xxh128(data)}).encode()))
        return recv_frame(sock)


def start_server(lab, tmp_path, *flags, env=None):
    received = tmp_path / "received"
    server = lab.server(LESSON, "server", *flags, "--dir", str(received), "127.0.0.1", "0", env=env)
    return server, received


def listing(folder):
    return sorted(os.listdir(folder))


def upload(lab, server, path, *flags, env=None):
    return lab.run(LESSON, "client", *flags, str(path), "127.0.0.1", str(server.port), timeout=scaled(120), env=env)


# --- whole files arrive byte for byte ---------------------------------------------------------

CONTENTS = {
    "empty.bin": b"",
    "one.bin": b"x",
    # The tutorial's receiver stops at a chunk equal to b'quit': here it is just data.
    "quit.txt": b"first line\nquit\nlast line after quit\n",
    "ends-with-quit.txt": b"first line\nquit",  # the tutorial loses this last line (test below)
    "bytes.bin": bytes(range(256)),
}


@pytest.mark.parametrize("name", CONTENTS)
def test_file_arrives_byte_exact(lab, tmp_path, name):
    server, received = start_server(lab, tmp_path)
    source = tmp_path / name
    source.write_bytes(CONTENTS[name])
    client = upload(lab, server, source)
    assert client.returncode == 0, client.stdout + client.stderr
    expected = xxh128(CONTENTS[name])
    assert client.stdout_lines[-1] == f"uploaded {name}: {len(CONTENTS[name])} bytes, xxh3-128 {expected}"
    verdict = json.loads(client.stdout_lines[0].removeprefix("server: "))
    assert verdict == {"ok": True, "filename": name, "size": len(CONTENTS[name]), "digest": expected}
    assert listing(received) == [name]
    assert (received / name).read_bytes() == CONTENTS[name]
    server.wait_for(rf'^saved "{name}" \({len(CONTENTS[name])} bytes, xxh3-128 {expected}\)$')
    assert client.stderr == ""  # stderr is a pipe here: no progress bar


def test_the_tutorial_programs_lose_a_last_line_quit(tmp_path):
    # The contrast: harness/tutorial_programs/ are the tutorial's file_receive.py and
    # file_send.py. A file whose last line is "quit" arrives cut short, and nobody says so.
    programs = Path(__file__).resolve().parent / "tutorial_programs"
    source = tmp_path / "ends-with-quit.txt"
    source.write_bytes(CONTENTS["ends-with-quit.txt"])
    receiver = subprocess.Popen([sys.executable, str(programs / "file_receive.py"), "127.0.0.1", "0",
                                 str(tmp_path / "file")], stdout=subprocess.PIPE, text=True)
    try:
        port = receiver.stdout.readline().rsplit(":", 1)[1]
        sender = subprocess.run([sys.executable, str(programs / "file_send.py"), str(source), "127.0.0.1", port],
                                capture_output=True, timeout=WAIT_SECONDS)
        receiver.wait(WAIT_SECONDS)
    finally:
        receiver.kill()
        receiver.wait()
        receiver.stdout.close()
    assert sender.returncode == 0 and receiver.returncode == 0  # both "succeeded" ...
    assert (tmp_path / "file").read_bytes() == b"first line\n"  # ... and the last line is gone


def test_progress_bar_on_request(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    source = tmp_path / "bar.bin"
    source.write_bytes(b"z" * 3_000_000)
    client = upload(lab, server, source, "--progress")
    assert client.returncode == 0, client.stderr
    assert "100%" in client.stderr and "MB/s" in client.stderr and "2.9 MiB" in client.stderr
    assert client.stdout_lines[-1].startswith("uploaded bar.bin: 3000000 bytes")


# --- hostile names and headers, sent raw -----------------------------------------------------

HOSTILE_NAMES = {
    "../x": "path separator", "/etc/x": "path separator", "a/b": "path separator",
    "..": "is a directory", ".": "is a directory", "": "empty file name",
    "a\0b": "control character", "x" * 256: "longer than 255 bytes",
    "a\\b": "path separator", "new\nline": "control character", ".upload-abc123": "reserved",
}


def test_hostile_names_are_refused_and_nothing_is_written(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    absolute = str(tmp_path / "outside")
    for name, reason in {**HOSTILE_NAMES, absolute: "path separator"}.items():
        verdict = raw_upload(server, name, b"evil")
        assert verdict["ok"] is False and reason in verdict["error"], (name, verdict)
        assert listing(received) == [], name
    assert listing(tmp_path) == ["received"]  # nothing beside the folder either (../x, absolute)
    assert not os.path.exists("/etc/x")
    # The longest legal name still works, and the server is still serving.
    assert raw_upload(server, "y" * 255, b"fine")["ok"] is True
    assert listing(received) == ["y" * 255]


BAD_HEADERS = {
    b"not json": "not a JSON object",
    b"[1, 2]": "not a JSON object",
    b'{"filename": "a", "size": 1}': '"digest"',
    b'{"filename": "a", "digest": "xxh3-128"}': '"size"',
    b'{"size": 1, "digest": "xxh3-128"}': '"filename"',
    b'{"filename": "a", "size": -1, "digest": "xxh3-128"}': '"size"',
    b'{"filename": "a", "size": 1.5, "digest": "xxh3-128"}': '"size"',
    b'{"filename": "a", "size": "1", "digest": "xxh3-128"}': '"size"',
    b'{"filename": "a", "size": 99999999999999999999, "digest": "xxh3-128"}': '"size"',
    b'{"filename": "a", "size": 1, "digest": "md5"}': '"digest"',
    b'{"filename": 5, "size": 1, "digest": "xxh3-128"}': '"filename"',
    b'{"filename": "a", "size": 1, "digest": "xxh3-128", "mode": 511}': "unknown field",
    b'{"filename": "\xff\xfe", "size": 1, "digest": "xxh3-128"}': "not a JSON object",  # not UTF-8
    b"": "not a JSON object",
}


def test_malformed_headers_are_refused_and_the_server_goes_on(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    for raw, reason in BAD_HEADERS.items():
        with connect(server) as sock:
            sock.sendall(frame(raw))
            verdict = recv_frame(sock)
        assert verdict["ok"] is False and reason in verdict["error"], (raw, verdict)
    # A header length over the 64 KiB limit is refused before anything is read or allocated.
    with connect(server) as sock:
        sock.sendall(struct.pack("!I", 64 * 1024 + 1))
        verdict = recv_frame(sock)
    assert verdict == {"ok": False, "error": "header: frame of 65537 bytes is over the limit of 65536"}
    assert listing(received) == []
    assert raw_upload(server, "after.txt", b"still serving")["ok"] is True
    assert listing(received) == ["after.txt"]


def test_wrong_digest_leaves_nothing(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    data = b"the bytes the server gets"
    wrong = xxh128(b"something else")
    verdict = raw_upload(server, "bad.txt", data, digest=wrong)
    assert verdict == {"ok": False, "error": f"digest mismatch: client sent {wrong}, server received {xxh128(data)}"}
    assert listing(received) == []


def test_malformed_trailer_leaves_nothing(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    with connect(server) as sock:
        sock.sendall(frame(header("t.txt", 3)))
        assert recv_frame(sock) == {"ok": True, "ready": True}
        sock.sendall(b"abc" + frame(b'{"digest": "NOT-HEX"}'))
        verdict = recv_frame(sock)
    assert verdict["ok"] is False and "trailer" in verdict["error"]
    assert listing(received) == []


def test_size_larger_than_the_data_that_came(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    with connect(server) as sock:
        sock.sendall(frame(header("short.bin", 100)))
        assert recv_frame(sock) == {"ok": True, "ready": True}
        sock.sendall(b"h" * 50)
        sock.shutdown(socket.SHUT_WR)  # half-close: we can still hear the verdict
        verdict = recv_frame(sock)
    assert verdict == {"ok": False, "error": "connection closed after 50 of 100 bytes"}
    assert listing(received) == []


def test_disk_write_failure_leaves_nothing(lab, tmp_path):
    # A file size limit (ulimit -f, RLIMIT_FSIZE) makes write() fail with EFBIG,
    # for root too; the server ignores SIGXFSZ, so it reports and serves on.
    received = tmp_path / "received"
    limit = 1024 * 1024
    server = lab.server(LESSON, "server", "--dir", str(received), "127.0.0.1", "0",
                        prefix=["prlimit", f"--fsize={limit}"])
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * limit))
    client = upload(lab, server, source)
    assert client.returncode == 1
    assert client.stdout_lines == ['server: {"error":"write: File too large","ok":false}']
    assert listing(received) == []
    small = tmp_path / "small.bin"
    small.write_bytes(b"fits")
    assert upload(lab, server, small).returncode == 0
    assert listing(received) == ["small.bin"]


# --- no clobbering ----------------------------------------------------------------------------

def test_existing_file_is_not_clobbered(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    (received / "keep.txt").write_bytes(b"old")
    source = tmp_path / "keep.txt"
    source.write_bytes(b"new content")
    client = upload(lab, server, source)
    assert client.returncode == 1
    assert "keep.txt already exists" in client.stdout
    assert (received / "keep.txt").read_bytes() == b"old"
    assert listing(received) == ["keep.txt"]


def test_a_file_appearing_during_the_upload_is_not_clobbered(lab, tmp_path):
    # The early "already exists" check is only a courtesy: the real guard is link(),
    # which fails if the name appeared meanwhile (no check-then-act race).
    server, received = start_server(lab, tmp_path)
    data = b"late writer"
    with connect(server) as sock:
        sock.sendall(frame(header("race.txt", len(data))))
        assert recv_frame(sock) == {"ok": True, "ready": True}
        (received / "race.txt").write_bytes(b"someone else's")
        sock.sendall(data + frame(json.dumps({"digest": xxh128(data)}).encode()))
        verdict = recv_frame(sock)
    assert verdict == {"ok": False, "error": "race.txt already exists"}
    assert (received / "race.txt").read_bytes() == b"someone else's"
    assert listing(received) == ["race.txt"]


def test_overwrite_replaces_the_file(lab, tmp_path):
    server, received = start_server(lab, tmp_path, "--overwrite")
    (received / "keep.txt").write_bytes(b"old")
    source = tmp_path / "keep.txt"
    source.write_bytes(b"new content")
    client = upload(lab, server, source)
    assert client.returncode == 0, client.stdout
    assert (received / "keep.txt").read_bytes() == b"new content"
    assert listing(received) == ["keep.txt"]


# --- Promises: the wire only, so `lab.py check 07 --server CMD` runs them on anyone's program. A
# student's server keeps what it receives in the folder it runs in; ours is given that folder.

SILENCE = scaled(5)  # how long a promise waits for the server's next frame


def promise_server(subject):
    return subject.server(LESSON, "server", "--dir", str(subject.cwd), "127.0.0.1", "0")


def promise_upload(server, name, data, digest=None, cut_at=None):
    """raw_upload, with a bound on every wait and failures in a student's terms; cut_at=N: only
    N bytes of the data, then the connection is closed (no verdict: returns None)."""
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=SILENCE) as sock:
            sock.sendall(frame(header(name, len(data))))
            ready = recv_frame(sock)
            if ready != {"ok": True, "ready": True}:
                return ready
            if cut_at is not None:
                sock.sendall(data[:cut_at])
                return None
            sock.sendall(data)
            sock.sendall(frame(json.dumps({"digest": digest or xxh128(data)}).encode()))
            return recv_frame(sock)
    except TimeoutError:
        raise AssertionError(f"uploading {name!r}: nothing from the server for {SILENCE:g} s") from None
    except (ConnectionError, struct.error, json.JSONDecodeError) as error:
        raise AssertionError(f"uploading {name!r}: {type(error).__name__}: {error}") from None


@pytest.mark.promise("tutorial", ("a file arrives byte for byte, under its name", "文件按原名逐字节完整到达"),
                     hint=("read exactly the size the header announced, in a loop (recv may return less), and "
                           "write every byte: one recv is not one chunk of the file",
                           "按报头给出的大小循环读满（recv 可能返回更少），每个字节都写入：一次 recv 不等于文件的一块"))
def test_promise_a_file_arrives_byte_for_byte(subject):
    server = promise_server(subject)
    data = random.Random(7).randbytes(300_000)
    verdict = promise_upload(server, "photo.bin", data)
    assert verdict.get("ok") is True, f"the server answered {verdict}"
    kept = subject.cwd / "photo.bin"
    assert kept.exists(), f"the server said ok, but no photo.bin is in its folder: {listing(subject.cwd)}"
    assert kept.read_bytes() == data, f"photo.bin has {kept.stat().st_size} bytes, not the {len(data)} sent, or others"


@pytest.mark.promise("socketlab", ("a file that does not match its digest is not kept", "与摘要不符的文件不保留"),
                     hint=("compute the digest of what arrived, compare it with the client's, and keep the file "
                           "(rename it to its name) only when they match", "计算收到内容的摘要，与客户端的比较，"
                           "一致时才保留文件（重命名为它的名字）"))
def test_promise_a_file_that_does_not_match_its_digest_is_not_kept(subject):
    server = promise_server(subject)
    verdict = promise_upload(server, "bad.txt", b"these bytes", digest="0" * 32)
    assert verdict.get("ok") is False, f"a wrong digest was answered {verdict}"
    assert "bad.txt" not in listing(subject.cwd), "bad.txt was kept although its digest did not match"


@pytest.mark.promise("socketlab", ("a name with a path in it is refused, nothing written", "带路径的文件名被拒绝，什么也不写"),
                     hint=("never use the client's name as a path: refuse '/', '..' and control characters",
                           "不要把客户端给的名字当路径：拒绝 '/'、'..' 和控制字符"))
def test_promise_a_name_with_a_path_is_refused(subject):
    server = promise_server(subject)
    for name in ("../escaped.txt", "a/b.txt"):
        verdict = promise_upload(server, name, b"evil")
        assert verdict.get("ok") is False, f"the name {name!r} was answered {verdict}"
    assert listing(subject.cwd) == [] and not (subject.cwd.parent / "escaped.txt").exists(), \
        f"after the refusals the folder holds {listing(subject.cwd)}"


@pytest.mark.promise("socketlab", ("an upload cut short leaves nothing under its name", "中途断开的上传不在原名下留下文件"),
                     hint=("write to a temporary file and rename it only once every byte has arrived and been "
                           "checked; a recv() returning b'' before the end means the upload failed",
                           "先写临时文件，所有字节到齐并校验后才重命名；还没到结尾 recv() 就返回 b''，说明上传失败"))
def test_promise_an_upload_cut_short_leaves_nothing(subject):
    server = promise_server(subject)
    promise_upload(server, "cut.bin", b"c" * 100_000, cut_at=50_000)
    verdict = promise_upload(server, "next.txt", b"the next upload")  # served after the cut one ended
    assert verdict.get("ok") is True, f"after an upload cut short, the next upload was answered {verdict}"
    assert "cut.bin" not in listing(subject.cwd), f"half of cut.bin was kept: {listing(subject.cwd)}"


# --- the command line ------------------------------------------------------------------------

def test_client_refuses_what_it_cannot_send(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    missing = lab.run(LESSON, "client", str(tmp_path / "nope"), "127.0.0.1", str(server.port))
    assert missing.returncode == 1
    assert missing.stderr == f"client: {tmp_path / 'nope'}: No such file or directory"
    folder = lab.run(LESSON, "client", str(tmp_path), "127.0.0.1", str(server.port))
    assert folder.returncode == 1 and "not a regular file" in folder.stderr
    assert listing(received) == []


def test_bad_arguments_exit_2_with_usage(lab, tmp_path):
    for prog, args in [("client", []), ("client", ["f", "127.0.0.1", "0"]), ("client", ["--bogus", "f"]),
                       ("client", ["f", "h", "1", "extra"]), ("server", ["--dir"]),
                       ("server", ["--nope"]), ("server", ["127.0.0.1", "70000"])]:
        lab.expect_usage_error(LESSON, prog, *args, cwd=tmp_path)
    for prog in ("server", "client"):
        lab.expect_help(LESSON, prog, cwd=tmp_path)
    assert listing(tmp_path) == []  # a usage error creates no ./received


# --- hostile peers and hard stops (issue 12) --------------------------------------------------

def temporaries(folder):
    return [name for name in listing(folder) if name.startswith(".upload-")]


def start_huge_upload(lab, server, tmp_path, received):
    """A real client uploading 64 GiB of holes: it is still sending when the test acts.
    Returns once the server has made one more temporary file for it."""
    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as f:
        f.truncate(64 << 30)
    before = set(temporaries(received))
    client = lab.start(LESSON, "client", str(huge), "127.0.0.1", str(server.port))
    wait_until(lambda: set(temporaries(received)) - before, "the upload's temporary file exists")
    [temporary] = set(temporaries(received)) - before
    return client, temporary


def test_stale_temporaries_are_removed_at_start_but_never_another_servers(lab, tmp_path):
    # Server C is in the middle of an upload into the folder ...
    server_c, received = start_server(lab, tmp_path)
    data = b"0123456789"
    with connect(server_c) as sock:
        sock.sendall(frame(header("c.txt", len(data))))
        assert recv_frame(sock) == {"ok": True, "ready": True}
        sock.sendall(data[:5])
        [in_use] = temporaries(received)
        # ... when server A starts on the same folder, takes an upload and dies by SIGKILL:
        # its temporary file stays (nothing can run on SIGKILL).
        server_a, _ = start_server(lab, tmp_path)
        client_a, stale = start_huge_upload(lab, server_a, tmp_path, received)
        server_a.signal(signal.SIGKILL)
        server_a.wait()
        client_a.wait()
        assert sorted(temporaries(received)) == sorted([in_use, stale])
        # Server B starts: it removes A's leftover, which nobody holds, and leaves C's alone
        # (C holds flock on it) — as A's start did before.
        server_b, _ = start_server(lab, tmp_path)
        server_b.wait_for(rf'^removed "{re.escape(stale)}", left behind by a server that died$')
        assert temporaries(received) == [in_use]
        sock.sendall(data[5:] + frame(json.dumps({"digest": xxh128(data)}).encode()))
        assert recv_frame(sock)["ok"] is True  # C's upload was not harmed
    assert listing(received) == ["c.txt"]
    assert (received / "c.txt").read_bytes() == data
    assert raw_upload(server_b, "b.txt", b"B serves too")["ok"] is True
    assert not any(line.startswith("removed") for line in server_a.stdout_lines)
    assert [line for line in server_b.stdout_lines if line.startswith("removed")] == [
        f'removed "{stale}", left behind by a server that died']


def test_client_refuses_a_fifo_or_a_device_at_once(lab, tmp_path):
    # open() of a FIFO without a writer waits forever; the client opens with O_NONBLOCK,
    # then fstat() tells it what it has. No server is needed: nothing is sent.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        started = time.monotonic()
        client = lab.run(LESSON, "client", str(path), "127.0.0.1", "9", timeout=scaled(5))
        assert client.returncode == 1
        assert client.stderr == f"client: {path}: not a regular file"
        assert time.monotonic() - started < scaled(5)


DEEP = b'{"filename":' + b"[" * 32000 + b"]" * 32000 + b"}"  # 64,013 bytes: under the 64 KiB limit


# A prefix that runs a program under `ulimit -s 1024`: a recursion of one frame per level would overflow.
SMALL_STACK = ["prlimit", f"--stack={1 << 20}"]


class FakeServer:
    """A hostile upload server from Python: answers the client's header with `go_ahead`, then
    (if given) reads the body and trailer and answers with `verdict` (both raw frame bodies)."""

    def __init__(self, go_ahead, verdict=None):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(go_ahead, verdict), daemon=True)
        self.thread.start()

    def _serve(self, go_ahead, verdict):
        self.listener.settimeout(WAIT_SECONDS)
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(WAIT_SECONDS)
            announced = recv_frame(conn)
            conn.sendall(frame(go_ahead))
            if verdict is not None:
                recv_exact(conn, announced["size"])
                recv_frame(conn)  # the trailer
                conn.sendall(frame(verdict))
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)  # until the client closes

    def close(self):
        self.thread.join(WAIT_SECONDS)
        self.listener.close()


def run_client_against(lab, tmp_path, fake, argv_prefix=()):
    source = tmp_path / "up.txt"
    source.write_bytes(b"payload")
    client = lab.run(LESSON, "client", str(source), "127.0.0.1", str(fake.port), prefix=argv_prefix)
    fake.close()
    return client


def test_deeply_nested_json_is_refused_both_ways(lab, tmp_path):
    # The server, with a 1 MiB stack: refused before anything is built, and it serves on.
    received = tmp_path / "received"
    server = lab.server(LESSON, "server", "--dir", str(received), "127.0.0.1", "0", prefix=SMALL_STACK)
    for body in (DEEP, b'{"filename":[["a"]]}'):  # depth 3 is already too deep
        with connect(server) as sock:
            sock.sendall(frame(body))
            assert recv_frame(sock) == {"ok": False, "error": "header nests deeper than 2 levels"}
    server.wait_for(r'^refused: "header nests deeper than 2 levels"$')
    assert raw_upload(server, "after.txt", b"still serving")["ok"] is True
    assert listing(received) == ["after.txt"]
    # The client, with a 1 MiB stack, given the same nesting as the go-ahead and as the verdict.
    for fake in (FakeServer(DEEP), FakeServer(b'{"ok":true,"ready":true}', verdict=DEEP)):
        client = run_client_against(lab, tmp_path, fake, SMALL_STACK)
        assert client.returncode == 1
        assert client.stderr.startswith('client: the server\'s reply nests deeper than 2 levels: "{\\"filename\\":[[[[')
        assert len(client.stderr) < 200  # a quoted start of it, not 64 KiB
    assert server.popen.poll() is None


class SilentServer:
    """A server that goes silent at one point of the upload and stays connected: `"header"` never
    answers the header; `"verdict"` gives the go-ahead, reads everything, never gives a verdict;
    `"reading"` gives the go-ahead and then reads nothing more, so the client's send stalls."""

    def __init__(self, silent_at):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()  # set by the test once the client has given up
        self.thread = threading.Thread(target=self._serve, args=(silent_at,), daemon=True)
        self.thread.start()

    def _serve(self, silent_at):
        self.listener.settimeout(WAIT_SECONDS)
        conn, _ = self.listener.accept()
        with conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # stop reading = stall soon
            conn.settimeout(WAIT_SECONDS)
            announced = recv_frame(conn)
            if silent_at != "header":
                conn.sendall(frame(b'{"ok":true,"ready":true}'))
            if silent_at == "verdict":
                recv_exact(conn, announced["size"])
                recv_frame(conn)  # the trailer, then nothing
            self.done.wait(WAIT_SECONDS)

    def close(self):
        self.done.set()
        self.thread.join(WAIT_SECONDS)
        self.listener.close()


@pytest.mark.parametrize("silent_at", ["header", "verdict", "reading"])
def test_the_client_gives_up_on_a_silent_server(lab, tmp_path, silent_at):
    source = tmp_path / "up.bin"
    source.write_bytes(b"x" * (16 << 20 if silent_at == "reading" else 1000))  # 16 MiB: more than buffers hold
    fake = SilentServer(silent_at)
    wait = seconds_arg(1)
    started = time.monotonic()
    client = lab.run(LESSON, "client", "--wait", wait, str(source), "127.0.0.1", str(fake.port))
    elapsed = time.monotonic() - started
    fake.close()
    assert client.returncode == 1
    assert client.stderr_lines == [f"client: the server did not answer for {wait} s (--wait {wait}): giving up"]
    assert scaled(1) <= elapsed < WAIT_SECONDS


def test_untrusted_bytes_are_quoted_in_the_log_and_on_the_terminal(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    name = "invoice\u202etxt.exe"  # shown raw, U+202E (right-to-left override) makes it read "invoiceexe.txt"
    assert raw_upload(server, name, b"x")["ok"] is True
    assert raw_upload(server, name, b"x")["ok"] is False  # already exists: the refusal names it too
    server.wait_for(r'^refused: "invoice\\u202etxt\.exe already exists')
    server.wait_for(r'^saved "invoice\\u202etxt\.exe" \(1 bytes')
    server.wait_for(r'^receiving "invoice\\u202etxt\.exe" \(1 bytes\)$')
    assert not any("\u202e" in line for line in server.stdout_lines)
    assert listing(received) == [name]  # a legal name: only its display is escaped
    # A hostile server's verdict: terminal escapes as plain text, raw U+202E and a C1 control
    # (U+009B, CSI on some terminals) inside valid JSON.
    not_json = b"\x1b[2J\x1b]0;owned\x07 all done"
    client = run_client_against(lab, tmp_path, FakeServer(b'{"ok":true,"ready":true}', verdict=not_json))
    assert client.returncode == 1
    assert client.stderr == 'client: the server\'s reply is not a JSON object: "\\x1b[2J\\x1b]0;owned\\x07 all done"'
    sneaky = '{"ok":false,"error":"see \u202eelif\u009b"}'.encode()
    client = run_client_against(lab, tmp_path, FakeServer(sneaky))
    assert client.returncode == 1
    assert client.stdout_lines == ['server: {"error":"see \\u202eelif\\u009b","ok":false}']


def drip(sock, data, interval):
    """Send `data` a byte every `interval` s until the server answers; return (bytes sent, verdict)."""
    for sent in range(len(data)):
        if select.select([sock], [], [], interval)[0]:
            return sent, recv_frame(sock)
        sock.sendall(data[sent:sent + 1])
    return len(data), recv_frame(sock)


def test_idle_and_dripping_clients_are_dropped_and_the_next_is_served(lab, tmp_path):
    idle = seconds_arg(1)
    server, received = start_server(lab, tmp_path, "--idle-timeout", idle)
    # Silent after connecting, and silent half-way through the body.
    with connect(server) as sock:
        assert recv_frame(sock) == {"ok": False, "error": f"header: nothing received for {idle} s"}
    with connect(server) as sock:  # (fast until then: 512 KiB are 8 s ahead of the minimum rate)
        sock.sendall(frame(header("half.bin", 1 << 20)))
        assert recv_frame(sock) == {"ok": True, "ready": True}
        sock.sendall(b"h" * (1 << 19))
        assert recv_frame(sock) == {"ok": False,
                                    "error": f"nothing received for {idle} s after 524288 of 1048576 bytes"}
    # A drip: a byte every tenth of the idle limit never trips it, but each phase has a deadline:
    # idle + size / 64 KiB/s (for the header, its 64 KiB limit: idle + 1 s).
    tick = scaled(1) / 10
    with connect(server) as sock:
        sent, verdict = drip(sock, frame(header("drip.bin", 100)), tick)
    assert verdict == {"ok": False, "error": "header: too slow (under 64 KiB/s on average)"}
    assert 0 < sent < len(frame(header("drip.bin", 100)))
    with connect(server) as sock:
        started = time.monotonic()  # before the server's clock starts (at its go-ahead)
        sock.sendall(frame(header("drip.bin", 1000)))
        assert recv_frame(sock) == {"ok": True, "ready": True}
        sent, verdict = drip(sock, b"d" * 1000, tick)
        took = time.monotonic() - started
    assert verdict == {"ok": False, "error": f"too slow (under 64 KiB/s on average) after {sent} of 1000 bytes"}
    assert took >= scaled(1)  # not before the deadline: idle + 1000 bytes / 64 KiB/s
    server.wait_for(r'^refused: "too slow \(under 64 KiB/s on average\) after \d+ of 1000 bytes"$')
    assert listing(received) == []
    assert raw_upload(server, "next.txt", b"served")["ok"] is True
    assert listing(received) == ["next.txt"]


# -----------------------------------------------------------------------------------------------
# Torture: load, signals, EINTR and hostile peers (@pytest.mark.torture). The promises above
# must also hold under these; CTest labels them `torture` too (`ctest -L torture`, pytest -m torture).


@pytest.mark.torture
def test_interrupted_calls_are_restarted(lab, tmp_path, eintr_env):
    # harness/eintr_shim.c fails every other accept/recv/send with EINTR in server and client,
    # as a signal arriving during the call would: two uploads in turn (4 MiB of random bytes,
    # then a small file) still arrive byte for byte, and a third, corrupted one leaves nothing.
    server, received = start_server(lab, tmp_path, env=eintr_env(program(LESSON, "server")))
    files = {"random.bin": random.Random(7).randbytes(4 * 1024 * 1024), "bytes.bin": CONTENTS["bytes.bin"]}
    for name, data in files.items():
        source = tmp_path / name
        source.write_bytes(data)
        client = upload(lab, server, source, env=eintr_env(program(LESSON, "client")))
        assert client.returncode == 0, client.stdout + client.stderr
        assert client.stdout_lines[-1] == f"uploaded {name}: {len(data)} bytes, xxh3-128 {xxh128(data)}"
        assert client.stderr_lines == [EINTR_ANNOUNCEMENT]  # the shim really ran
        server.wait_for(rf'^saved "{name}" \({len(data)} bytes, xxh3-128 {xxh128(data)}\)$')
        assert (received / name).read_bytes() == data
    # All or nothing: an upload whose digest does not match leaves no file, not even a temporary one.
    wrong = xxh128(b"something else")
    verdict = raw_upload(server, "bad.bin", files["random.bin"], digest=wrong)
    assert verdict == {"ok": False, "error": f"digest mismatch: client sent {wrong}, "
                                             f"server received {xxh128(files['random.bin'])}"}
    server.wait_for(r'^refused: "digest mismatch')
    assert listing(received) == sorted(files)
    assert server.stop().stderr_lines == [EINTR_ANNOUNCEMENT]


@pytest.mark.torture
def test_random_64_mib_file(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    data = random.Random(7).randbytes(64 * 1024 * 1024)
    source = tmp_path / "random.bin"
    source.write_bytes(data)
    client = upload(lab, server, source)
    assert client.returncode == 0, client.stdout + client.stderr
    assert listing(received) == ["random.bin"]
    assert (received / "random.bin").read_bytes() == data
    assert client.stdout_lines[-1].endswith(xxh128(data))
    for big in (source, received / "random.bin"):  # pytest keeps old tmp_paths: do not hoard 128 MiB
        big.unlink()


@pytest.mark.torture
def test_client_killed_mid_upload(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    huge = tmp_path / "huge.bin"  # 64 GiB of holes: reads as zeros, takes no disk space,
    with open(huge, "wb") as f:   # and is far too big to finish before the kill below
        f.truncate(64 << 30)
    client = lab.start(LESSON, "client", str(huge), "127.0.0.1", str(server.port))
    server.wait_for(r'^receiving "huge\.bin" \(68719476736 bytes\)$')
    client.signal(signal.SIGKILL)
    client.wait()
    server.wait_for(r'^refused: "(connection closed|recv: Connection reset by peer) after \d+ of 68719476736 bytes"$')
    assert listing(received) == []
    assert raw_upload(server, "next.txt", b"next")["ok"] is True
    assert listing(received) == ["next.txt"]


def dying_upload(server, rng, huge, lab):
    """One upload that dies somewhere: returns nothing, leaves (it must) nothing behind."""
    data = rng.randbytes(rng.randrange(1, 200_000))
    wire = frame(header(f"t{rng.randrange(1000)}.bin", len(data)))
    stage = rng.choice(["length", "header", "after-header", "body", "trailer", "kill"])
    if stage == "kill":  # a real client process, SIGKILLed at a random moment
        client = lab.start(LESSON, "client", str(huge), "127.0.0.1", str(server.port))
        time.sleep(rng.uniform(0, 0.03))
        client.signal(signal.SIGKILL)
        client.wait()
        return
    ending = rng.choice(["close", "reset", "half-close"])
    with connect(server) as sock:
        if stage == "length":
            sock.sendall(wire[:rng.randrange(4)])
        elif stage == "header":
            sock.sendall(wire[:rng.randrange(4, len(wire))])
        else:
            sock.sendall(wire)
            if rng.random() < 0.5 or stage != "after-header":
                assert recv_frame(sock) == {"ok": True, "ready": True}
            if stage == "body":
                sock.sendall(data[:rng.randrange(len(data))])
            elif stage == "trailer":
                trailer = frame(json.dumps({"digest": xxh128(data)}).encode())
                sock.sendall(data + trailer[:rng.randrange(len(trailer))])
        if ending == "reset":  # SO_LINGER 0: close() sends RST instead of FIN
            reset(sock)
        elif ending == "half-close":  # we stop sending but can still hear the refusal
            sock.shutdown(socket.SHUT_WR)
            verdict = recv_frame(sock)
            if verdict == {"ok": True, "ready": True}:  # the go-ahead we had not read yet
                verdict = recv_frame(sock)
            assert verdict["ok"] is False and verdict["error"], verdict


@pytest.mark.torture
def test_torture_uploads_dying_at_random_points(lab, tmp_path, seeded_rng):
    server, received = start_server(lab, tmp_path)
    baseline = server.fd_count()
    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as f:
        f.truncate(64 << 30)
    rng = seeded_rng
    for _ in range(100):
        dying_upload(server, rng, huge, lab)
    good = tmp_path / "good.bin"
    good.write_bytes(rng.randbytes(500_000))
    client = upload(lab, server, good)
    assert client.returncode == 0, client.stdout + client.stderr
    assert listing(received) == ["good.bin"]  # no stray temporaries, no half files
    assert (received / "good.bin").read_bytes() == good.read_bytes()
    wait_until(lambda: server.fd_count() == baseline, f"the server's fd count to return to {baseline}")
    assert server.popen.poll() is None


# Every signal whose default action ends the process and that can be caught (stop_signals.h);
# SIGPIPE aside (ignored: a vanished reader is EPIPE), SIGKILL cannot be caught.
STOP_SIGNALS = [signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGALRM]


@pytest.mark.torture
@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=[s.name for s in STOP_SIGNALS])
def test_a_stop_signal_mid_upload_removes_the_temporary_file(lab, tmp_path, signum):
    server, received = start_server(lab, tmp_path)
    start_huge_upload(lab, server, tmp_path, received)
    server.signal(signum)
    server.wait()
    assert listing(received) == []  # before: .upload-XXXXXX stayed (SIGHUP, SIGQUIT, SIGUSR1 ...: until the next start)
    assert server.returncode == 0, server.stderr
    assert server.stdout_lines[-1] == f"stopped by {signum.name}"
    assert server.stderr == ""


@pytest.mark.torture
def test_a_log_reader_that_goes_away_does_not_kill_the_server(lab, tmp_path):
    # `server | head -1`: after the first line nobody reads the log. SIGPIPE must not kill it.
    received = tmp_path / "received"
    server = lab.server(LESSON, "server", "--dir", str(received), "127.0.0.1", "0", head=1)  # head -1 exits
    for name in ("one.txt", "two.txt"):  # each upload writes log lines into the closed pipe
        assert raw_upload(server, name, b"logged to nobody")["ok"] is True
    assert server.popen.poll() is None
    server.signal(signal.SIGTERM)
    assert server.wait().returncode == 0
    assert server.stderr_bytes == b""
    assert listing(received) == ["one.txt", "two.txt"]


@pytest.mark.torture
def test_accept_out_of_descriptors_backs_off_and_serves_again(lab, tmp_path):
    server, received = start_server(lab, tmp_path)
    # One upload first, and its connection closed: then the server is back in its accept loop
    # with only the descriptors it keeps.
    assert raw_upload(server, "before.txt", b"served")["ok"] is True
    pid = server.popen.pid
    sockets = lambda: [fd for fd in os.listdir(f"/proc/{pid}/fd")
                       if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")]
    wait_until(lambda: len(sockets()) == 1, "only the listening socket is left")
    in_use = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
    lowest_free = min(set(range(len(in_use) + 1)) - in_use)
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free, hard))  # accept() now fails: EMFILE
    # A client that leaves at once (a server blocked in accept() has its next descriptor already),
    # then three that wait: queued by the kernel, the listener stays readable.
    connect(server).close()
    waiting = [connect(server) for _ in range(3)]
    try:
        server.wait_for(r"^server: accept: Too many open files", stream="stderr")
        before, window = cpu_seconds(pid), scaled(1.0)
        time.sleep(window)  # a measurement window, not a wait for a condition
        used = cpu_seconds(pid) - before
        assert used < 0.1 * window, f"{used:.2f} s of CPU in {window} s: accept() spins"
        assert server.stderr_lines == ["server: accept: Too many open files (retrying every 100 ms; said once per burst)"]
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (hard, hard))  # descriptors free again
    finally:
        for sock in waiting:
            sock.close()
    assert raw_upload(server, "after.txt", b"served again")["ok"] is True
    assert listing(received) == ["after.txt", "before.txt"]
    assert len(server.stderr_lines) == 1


def unread_bytes(pipe):
    """How many bytes wait in a pipe that nobody reads (FIONREAD)."""
    count = array.array("i", [0])
    fcntl.ioctl(pipe, termios.FIONREAD, count)
    return count[0]


@pytest.mark.torture
def test_a_blocked_log_does_not_block_a_stop(lab, tmp_path):
    # A log reader that hangs: after the ready line nobody reads the server's stdout, and the pipe
    # fills. The server may stop serving then (one client at a time, each logged), but a stop
    # signal must still stop it at once: before, SIGTERM left it asleep in write(1) for good.
    received = tmp_path / "received"
    server = Process([program(LESSON, "server"), "--dir", str(received), "127.0.0.1", "0"], stop_reading_after=1)
    lab.started.append(server)
    server.wait_for(r".")
    port = int(READY_LINE.match(server.stdout_lines[0]).group("port"))
    server.port = port
    name = "n" * 255  # each refusal of it logs about 640 bytes: "receiving ...", "refused: ... already exists"
    assert raw_upload(server, name, b"")["ok"] is True
    capacity = fcntl.fcntl(server.popen.stdout, fcntl.F_GETPIPE_SZ)
    # Full: each of the pipe's 16 pages may miss less than a line (< 1 KiB here).
    nearly_full = lambda: unread_bytes(server.popen.stdout) > capacity - 16 * 1024

    def answered(sock):
        """The refusal came (True), or the server stopped answering with its log pipe full (False)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if select.select([sock], [], [], scaled(0.5))[0]:
                return True
            if nearly_full():
                return False
        pytest.fail("no answer from the server, and its log pipe is not full")

    for _ in range(capacity // 600 + 2):  # more refusals than the pipe can hold
        with connect(server) as sock:
            sock.sendall(frame(header(name, 1)))
            if not answered(sock):
                break
            assert recv_frame(sock)["ok"] is False
    else:
        pytest.fail("the server answered every upload: its log never filled the pipe")
    assert nearly_full()
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    try:
        server.popen.wait(scaled(3))
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {scaled(3)} s after SIGTERM: asleep writing to its full log")
    took = time.monotonic() - started
    assert server.returncode == 0
    assert took < scaled(1), f"{took:.2f} s from SIGTERM to exit"
    assert listing(received) == [name]  # and no temporary file
    server.stop()
    assert server.stderr == ""


@pytest.mark.torture
def test_trailing_bytes_after_the_header_are_refused(lab, tmp_path):
    # The frame's length says what belongs to it: every byte must be the JSON text. nlohmann's
    # lexer ends the input at a NUL (nlohmann/json #1095), so before, this header was read as its
    # first 55 bytes and the file was saved. Text after the object without a NUL was refused already.
    server, received = start_server(lab, tmp_path)
    good = header("a.txt", 1)
    for body, offset in ((good + b"\0junk", len(good)), (good + b"\0", len(good)), (b"\0" + good, 0)):
        with connect(server) as sock:
            sock.sendall(frame(body))
            assert recv_frame(sock) == {"ok": False,
                                        "error": f"header is not a JSON object (a NUL byte at offset {offset})"}
    with connect(server) as sock:
        sock.sendall(frame(good + b" junk"))
        assert recv_frame(sock) == {"ok": False, "error": "header is not a JSON object"}
    assert listing(received) == []
    assert raw_upload(server, "a.txt", b"x")["ok"] is True  # and the server goes on
    assert listing(received) == ["a.txt"]
