"""Every lesson against the tutorial's own programs, both ways (issue 9).

A tutorial peer is a real /usr/bin/python3 process running a faithful copy of a tutorial
program (harness/tutorial_programs/, each change marked "# CHANGED:"). For every pairing
-- tutorial client -> C++ server, C++ client -> tutorial server -- the test runs both and
asserts the outcome each lesson's README documents: it works, with the exact output; or,
only in lessons 06 and 07, which change the wire format on purpose, the exact failure.
No C++ program needs to be killed: each ends or answers by itself within its own bound.
"""

import math
import os
import re
import signal
import struct
from pathlib import Path

import pytest

from conftest import WAIT_SECONDS, Process, scaled, seconds_arg, wait_until

TUTORIAL = Path(__file__).resolve().parent / "tutorial_programs"
PYTHON = "/usr/bin/python3"
# The peers' own bound on every socket wait (their "# CHANGED:" setdefaulttimeout): longer
# than any C++ bound below, so that where both could give up, the C++ side speaks first.
PEER_ENV = dict(os.environ, SOCKETLAB_PEER_TIMEOUT=f"{WAIT_SECONDS:g}", PYTHONDONTWRITEBYTECODE="1")
GREETING = "连接成功"
CPP_SERVERS_03 = ["server", "threaded_server"]


def whole_seconds(seconds):
    """scaled(seconds) for lesson 06's --timeout/--wait, which take whole seconds."""
    return str(math.ceil(scaled(seconds)))


def named_by_first(rows):
    """pytest parameters named by each row's first value (a tutorial program, a case), so that the
    check's name says which: test_01_tutorial_client_to_cpp_server[000_tcp_client.py]."""
    return [pytest.param(*row, id=row[0]) for row in rows]


def tutorial(lab, name, *args, stdin=None, cwd=None):
    """Start a tutorial program; stdin (its input() lines) is fed, then closed."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    process = Process([PYTHON, "-u", str(TUTORIAL / name), *args], stdin_bytes=stdin, cwd=cwd, env=PEER_ENV)
    lab.started.append(process)
    return process


def tutorial_server(lab, name, *args, cwd=None):
    """Start a tutorial server on a free port; wait for its ("# CHANGED:") ready line."""
    server = tutorial(lab, name, "127.0.0.1", "0", *args, cwd=cwd)
    _, match = server.wait_for(r"^listening on 127\.0\.0\.1:(\d+)")
    server.port = int(match.group(1))
    return server


def traceback_ends_with(process, pattern):
    """A tutorial program that died of an exception: exit status 1, and its last line."""
    assert process.returncode == 1, (process.stdout, process.stderr)
    assert process.stderr_lines[0] == "Traceback (most recent call last):", process.stderr
    assert re.fullmatch(pattern, process.stderr_lines[-1]), process.stderr
    return process.stderr_lines[-1]


def closed_towards(port):
    """Has a client's FIN (so all its bytes before it) reached a connection to `port` that
    nobody has read yet? The server's end is then in CLOSE_WAIT (state 08) in /proc/net/tcp."""
    local = "0100007F:%04X" % port
    with open("/proc/net/tcp") as table:
        return any(row.split()[1] == local and row.split()[3] == "08" for row in list(table)[1:])


# --- 01_tcp_basic: 000 §二.1, 003 §二.5 例子, 004's first pair ---------------------------------

@pytest.mark.parametrize("client, sent, reply", named_by_first([
    ("000_tcp_client.py", "hello socket", "HELLO SOCKET"),
    ("003_client.py", "我是客户端", "我是客户端"),       # upper() leaves Chinese as it is
    ("004_phone_client.py", "hello", "HELLO"),
]))
def test_01_tutorial_client_to_cpp_server(lab, client, sent, reply):
    server = lab.server("01_tcp_basic")
    peer = tutorial(lab, client, "127.0.0.1", str(server.port)).wait()
    assert (peer.returncode, peer.stdout_lines) == (0, [reply]), peer.stderr
    server.wait()
    assert server.returncode == 0, server.stderr
    assert server.stdout_lines[2] == f'received {len(sent.encode())} bytes: "{sent}"'


@pytest.mark.parametrize("server_name, printed, reply", named_by_first([
    ("000_tcp_server.py", None, "HELLO SOCKET"),
    ("003_server.py", "hello socket", "我是服务端"),
    ("004_phone_server.py", "hello socket", "HELLO SOCKET"),
]))
def test_01_cpp_client_to_tutorial_server(lab, server_name, printed, reply):
    server = tutorial_server(lab, server_name)
    client = lab.run("01_tcp_basic", "client", "127.0.0.1", str(server.port))
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines[1:] == [reply]
    server.wait()
    assert server.returncode == 0, server.stderr
    if printed:
        assert server.stdout_lines[-1] == printed


# --- 02_udp_basic: 000 §二.2, 001 UDP通信实例 ---------------------------------------------------

def test_02_000_udp_client_to_cpp_server(lab):
    server = lab.server("02_udp_basic")
    peer = tutorial(lab, "000_udp_client.py", "127.0.0.1", str(server.port)).wait()
    assert (peer.returncode, peer.stdout_lines) == (0, ["HELLO SOCKET"]), peer.stderr
    server.wait_for(r'^recvfrom -> 12 bytes from 127\.0\.0\.1:\d+: "hello socket"$')


def test_02_cpp_client_to_000_udp_server(lab):
    server = tutorial_server(lab, "000_udp_server.py")
    client = lab.run("02_udp_basic", "client", "--timeout", seconds_arg(10), "127.0.0.1", str(server.port))
    assert client.returncode == 0, client.stderr
    assert re.fullmatch(r'recvfrom -> 12 bytes from 127\.0\.0\.1:\d+: "HELLO SOCKET"', client.stdout_lines[-1])
    server.wait()
    assert server.stdout_lines[-1] == "hello socket"


def test_02_001_udp_client_to_cpp_server(lab):
    # socket_client_udp only sends. Its `msg_input == b'exit'` compares str with bytes, so
    # 'exit' goes out as a datagram too: the server gets both lines, each one datagram.
    server = lab.server("02_udp_basic")
    peer = tutorial(lab, "socket_client_udp.py", "127.0.0.1", str(server.port), stdin="hello\nexit\n").wait()
    assert peer.returncode == 0, peer.stderr
    server.wait_for(r'^recvfrom -> 5 bytes from 127\.0\.0\.1:\d+: "hello"$')
    server.wait_for(r'^recvfrom -> 4 bytes from 127\.0\.0\.1:\d+: "exit"$')


def test_02_cpp_client_to_001_udp_server(lab):
    # socket_server_udp.py prints every datagram and never answers: the message arrives, and
    # our client, which waits for a reply, says after --timeout that none came (by design).
    server = tutorial_server(lab, "socket_server_udp.py")
    client = lab.run("02_udp_basic", "client", "--timeout", seconds_arg(1), "127.0.0.1", str(server.port))
    server.wait_for("^hello socket$")
    assert client.returncode == 1
    assert client.stderr_lines[-1].startswith(
        f"client: recvfrom: no reply within {float(seconds_arg(1)):g} s (UDP does not resend")


# --- 03_loop_server: 001 socket_server.py / socket_client.py / socket_server_tcp2.py,
#     002 §1 例1 / 例1修改后, 004 持续性数据的交互 ---------------------------------------------------

@pytest.mark.parametrize("name", CPP_SERVERS_03)
def test_03_001_socket_client_to_cpp_server(lab, name):
    server = lab.server("03_loop_server", name)
    peer = tutorial(lab, "socket_client.py", "127.0.0.1", str(server.port), stdin="hello\nexit\n").wait()
    assert peer.returncode == 0, peer.stderr
    # recv → print → input → send: the greeting, then the echo of hello (input()'s prompt has no newline)
    assert peer.stdout_lines == [GREETING, "请输入发送的消息:HELLO", "请输入发送的消息:"]
    server.wait_for(r'^client \S+ said 5 bytes: "hello"$')
    server.wait_for(r"^client \S+ left \(sent exit\)$")


def send_first_transcript(peer, prompt, replies):
    """What a client that sends BEFORE it reads (002 例1, 004) printed after each prompt."""
    assert peer.stdout_lines[-1] == prompt  # the last prompt, then the end of its input
    printed = peer.stdout_lines[:-1]
    assert len(printed) == replies and all(line.startswith(prompt) for line in printed), peer.stdout
    return "".join(line[len(prompt):] for line in printed)


def said_in_order(server):
    return "".join(re.match(r'^client \S+ said \d+ bytes: "(.*)"$', line).group(1)
                   for line in server.stdout_lines if " said " in line)


@pytest.mark.parametrize("name", CPP_SERVERS_03)
def test_03_002_example1_client_to_cpp_server(lab, name):
    # 例1's client sends first and expects no greeting: it reads 连接成功 as the answer to its
    # first name, so everything it prints comes one answer late (or glued to the next: one recv
    # is not one message). The bytes are all there, in order; where recv cut them is TCP's choice.
    server = lab.server("03_loop_server", name)
    peer = tutorial(lab, "002_ex1_client.py", "127.0.0.1", str(server.port), stdin="alice\nbob\nexit\n").wait()
    assert peer.returncode == 0, peer.stderr
    assert send_first_transcript(peer, "请输入姓名:", 2) in (GREETING + "ALICE", GREETING + "ALICEBOB")
    server.wait_for(r"^client \S+ left \((sent exit|recv returned 0|connection reset)\)$")
    assert said_in_order(server) == "alicebobexit"


@pytest.mark.parametrize("name", CPP_SERVERS_03)
def test_03_004_loop_client_to_cpp_server(lab, name):
    server = lab.server("03_loop_server", name)
    peer = tutorial(lab, "004_loop_client.py", "127.0.0.1", str(server.port), stdin="hello\nworld\n").wait()
    assert peer.returncode == 0, peer.stderr
    assert send_first_transcript(peer, "请输入:", 2) in (GREETING + "HELLO", GREETING + "HELLOWORLD")
    server.wait_for(r"^client \S+ left \((recv returned 0|connection reset)\)$")
    assert said_in_order(server) == "helloworld"


@pytest.mark.parametrize("server_name, greets, reply", named_by_first([
    ("socket_server.py", True, ["连接成功", "hello"]),          # greets, echoes unchanged
    ("socket_server_tcp2.py", True, ["Hello World!", "hello"]),  # greets otherwise
    ("002_ex1_server.py", False, ["hello SB"]),                  # no greeting, data + b' SB'
    ("002_ex1_fixed_server.py", False, ["hello SB"]),
    ("004_loop_server.py", False, ["HELLO"]),                    # no greeting, upper-cases
]))
def test_03_cpp_client_to_tutorial_server(lab, server_name, greets, reply):
    server = tutorial_server(lab, server_name)
    # The greeting wait is the client's only guess: long where a greeting comes (it ends as soon
    # as it does), short where none will (it must run out, whatever its length).
    greeting_wait = seconds_arg(10) if greets else seconds_arg(0.3)
    client = lab.run("03_loop_server", "client", "127.0.0.1", str(server.port),
                     "--greeting", greeting_wait, "--wait", seconds_arg(10), stdin="hello\nexit\n")
    assert (client.returncode, client.stdout_lines, client.stderr) == (0, reply, "")
    if server_name.startswith("002_"):  # 例1 prints nothing of the data: it is back at accept()
        wait_until(lambda: server.stdout_lines.count("server is working") == 2, "例1 waits for its next client")
    else:
        server.wait_for("^hello$")


# --- 04_remote_cmd: 000 §三 基于tcp实现远程命令, 002 §2 模拟ssh --------------------------------

@pytest.mark.parametrize("client, prompt, script", named_by_first([
    ("000_cmd_client.py", "请输入命令:", "echo hi\n"),
    ("002_ssh_client.py", ">>: ", "echo hi\nquit\n"),
]))
def test_04_tutorial_client_to_cpp_server(lab, client, prompt, script):
    server = lab.server("04_remote_cmd")
    peer = tutorial(lab, client, "127.0.0.1", str(server.port), stdin=script).wait()
    assert peer.returncode == 0, peer.stderr
    assert peer.stdout_lines == [prompt + "hi", "", prompt]  # print() of b'hi\n'
    server.wait_for(r'^127\.0\.0\.1:\d+ ran "echo hi": 3 bytes stdout, 0 bytes stderr, ')


@pytest.mark.parametrize("server_name", ["000_cmd_server.py", "002_ssh_server.py"])
def test_04_cpp_client_to_tutorial_server(lab, server_name):
    server = tutorial_server(lab, server_name)
    client = lab.run("04_remote_cmd", "client", "127.0.0.1", str(server.port), "--wait", seconds_arg(10),
                     stdin="echo hi\n")
    assert client.returncode == 0, client.stderr
    assert client.stdout_lines == [">> echo hi", "recv(1024) -> 3 bytes:", "hi", ""]


# --- 05_sticky_packet_demo: 002 §4.1 情况一 / 情况二 -------------------------------------------

@pytest.mark.parametrize("case, first, second", named_by_first([
    ("send-side", 'recv(10) -> 10 bytes: "hellomaigc"', 'recv(10) -> 0 bytes: ""   (end of stream: the client closed)'),
    ("receive-side", 'recv(2) -> 2 bytes: "he"', 'recv(10) -> 8 bytes: "llomaigc"'),
]))
def test_05_tutorial_client_to_cpp_server(lab, case, first, second):
    server = lab.server("05_sticky_packet_demo", "server", "127.0.0.1", "0", "--case", case)
    peer = tutorial(lab, "002_case_client.py", "127.0.0.1", str(server.port)).wait()
    assert (peer.returncode, peer.stdout, peer.stderr) == (0, "", "")
    server.wait()
    assert server.returncode == 0, server.stderr
    recvs = [line for line in server.stdout_lines if line.startswith("recv(")]
    assert recvs == [first, second]  # the tutorial's spelling, 'maigc', glued as promised


@pytest.mark.parametrize("server_name, case, printed", named_by_first([
    ("002_case1_server.py", "send-side", ["-----> hellomagic", "-----> "]),
    ("002_case2_server.py", "receive-side", ["-----> he", "-----> llomagic"]),
]))
def test_05_cpp_client_to_tutorial_server(lab, server_name, case, printed):
    # The tutorial's servers recv at once, so what they get depends on timing. Like lesson 05's
    # server, the test makes them late receivers: stopped until the client's 10 bytes and its
    # close are all queued. Then they print exactly what the tutorial's comments say.
    server = tutorial_server(lab, server_name)
    server.signal(signal.SIGSTOP)
    try:
        wait_until(server.stopped, "the tutorial server is stopped")
        client = lab.run("05_sticky_packet_demo", "client", "127.0.0.1", str(server.port), "--case", case)
        assert client.returncode == 0, client.stderr
        wait_until(lambda: closed_towards(server.port), "all of the client's bytes are queued")
    finally:
        server.signal(signal.SIGCONT)
    server.wait()
    assert server.returncode == 0, server.stderr
    assert server.stdout_lines[1:] == printed


# --- 06_framed_fix: 002 §4.2 解决方案1 / 解决方案2 — the format changed on purpose ------------------

def cpp_client_06(lab, scheme, port, commands, wait=10):
    return lab.run("06_framed_fix", "client", "--scheme", scheme, "--wait", whole_seconds(wait),
                   "127.0.0.1", str(port), stdin=commands)


def test_06_fix1_client_to_cpp_ack_server(lab):
    # 解决方案1 sends the bare command; our ack scheme wants a length line ending in '\n' first.
    # The server waits --idle-timeout s for the rest, says why, and serves the next client; the
    # tutorial's client, waiting for a length that never comes, gets b'' and int('') fails.
    server = lab.server("06_framed_fix", "server", "--scheme", "ack", "--idle-timeout", whole_seconds(1),
                        "127.0.0.1", "0")
    peer = tutorial(lab, "002_fix1_client.py", "127.0.0.1", str(server.port), stdin="echo hi\n").wait()
    traceback_ends_with(peer, re.escape("ValueError: invalid literal for int() with base 10: ''"))
    # the log says what the client did: "echo hi" came, 7 bytes of no length line, then nothing
    server.wait_for(rf"^server: client \S+ sent 7 bytes of a request, then nothing for {whole_seconds(1)} s "
                    r"\(--idle-timeout\): dropped$", stream="stderr")
    good = cpp_client_06(lab, "ack", server.port, "echo next\n")
    assert (good.returncode, good.stdout) == (0, "next"), good.stderr


def test_06_fix2_client_to_cpp_fixed_server(lab):
    # 解决方案2 sends the bare command: our server reads "echo" as a '!I' length (1701013615),
    # refuses it and answers with a '!I' frame; the tutorial's client unpacks that with native
    # 'i' (little-endian here): a huge data_size, then the reset of the closed connection.
    server = lab.server("06_framed_fix", "server", "--scheme", "fixed", "127.0.0.1", "0")
    peer = tutorial(lab, "002_fix2_client.py", "127.0.0.1", str(server.port), stdin="echo hi\n").wait()
    _, match = server.wait_for(r"^server: client \S+: bad request: (.*)$", stream="stderr")
    assert match.group(1) == "command of 1701013615 bytes exceeds the limit of 67108864 bytes"
    notice = f"server: bad request: {match.group(1)}\n".encode()
    native = struct.unpack("i", struct.pack("!I", len(notice)))[0]
    assert peer.stdout_lines[0] == f"请输入命令:data_size {native}"
    traceback_ends_with(peer, r"ConnectionResetError: \[Errno 104\] Connection reset by peer")
    good = cpp_client_06(lab, "fixed", server.port, "echo next\n")
    assert (good.returncode, good.stdout) == (0, "next"), good.stderr


def test_06_cpp_ack_client_to_fix1_server(lab):
    # Our client sends "7\n" and waits for the 10 bytes of 'recv_ready'; 解决方案1's server runs
    # "7\n" as a command, sends the length of its error as bare digits ("25" here: 2 of the 10 bytes
    # our client waits for) and waits for 'recv_ready' itself. Each waits for the other.
    server = tutorial_server(lab, "002_fix1_server.py")
    client = cpp_client_06(lab, "ack", server.port, "echo hi\n", wait=1)
    assert client.returncode == 1
    wait = whole_seconds(1)
    assert client.stderr_lines == [f"client: the server did not answer for {wait} s (--wait {wait}): giving up"]
    assert server.popen.poll() is None  # it goes on with its next client


def test_06_cpp_fixed_client_to_fix2_server(lab):
    # Our '!I' header starts with NUL bytes; 解决方案2's server decodes the whole recv as the
    # command, and Popen refuses it: the server dies, our client sees the connection close.
    server = tutorial_server(lab, "002_fix2_server.py")
    client = cpp_client_06(lab, "fixed", server.port, "echo hi\n")
    assert client.returncode == 1
    assert client.stderr_lines == ["client: the server closed the connection"]
    server.wait()
    traceback_ends_with(server, "ValueError: embedded null byte")


# --- 07_file_transfer: 001 文件传输实例 — the format changed on purpose -----------------------------

def test_07_file_send_to_cpp_server(lab, tmp_path):
    # file_send.py sends the file's first line bare; our server reads its first 4 bytes as the
    # length of a dict header ("hell" = 1751477356 bytes), refuses it and serves the next client.
    (tmp_path / "a.txt").write_bytes(b"hello 07\nsecond line\n")
    received = tmp_path / "received"
    server = lab.server("07_file_transfer", "server", "--dir", str(received), "127.0.0.1", "0")
    peer = tutorial(lab, "file_send.py", str(tmp_path / "a.txt"), "127.0.0.1", str(server.port)).wait()
    server.wait_for(r'^refused: "header: frame of 1751477356 bytes is over the limit of 65536"$')
    # Its reply is our {"ok": false} frame, not b'success': file_send stops and sends b'quit',
    # which may already meet the reset of the connection our server closed.
    if peer.returncode != 0:
        traceback_ends_with(peer, r"(ConnectionResetError|BrokenPipeError): .*")
    assert os.listdir(received) == []  # nothing saved, not even a temporary file
    good = lab.run("07_file_transfer", "client", str(tmp_path / "a.txt"), "127.0.0.1", str(server.port))
    assert good.returncode == 0, good.stderr
    assert (received / "a.txt").read_bytes() == b"hello 07\nsecond line\n"


def test_07_cpp_client_to_file_receive(lab, tmp_path):
    # file_receive.py writes whatever arrives into its file -- here our dict header -- and
    # answers b'success', which our client reads as a frame length ("succ" = 1937072995).
    (tmp_path / "a.txt").write_bytes(b"hello 07\n")
    output = tmp_path / "file"
    server = tutorial_server(lab, "file_receive.py", str(output))
    client = lab.run("07_file_transfer", "client", str(tmp_path / "a.txt"), "127.0.0.1", str(server.port))
    assert client.returncode == 1
    assert client.stderr_lines == ["client: frame of 1937072995 bytes is over the limit of 65536"]
    server.wait()  # it ends by itself: the connection our client left is reset under it
    traceback_ends_with(server, r"(ConnectionResetError|BrokenPipeError): .*")
    written = output.read_bytes()
    assert written[4:].startswith(b'{"digest":"xxh3-128","filename":"a.txt","size":9}')
    assert struct.unpack("!I", written[:4])[0] == len(written) - 4
