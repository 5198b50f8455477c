"""Lesson 05: the two sticky-packet cases of tutorial 002 §4.1, every time; UDP as the contrast.

Each case runs the real pair many times and must give exactly the tutorial's bytes every
time (with 'magic' for its typo 'maigc'): the server waits until the 10 bytes are
queued, so nothing depends on timing.
"""

import re
import socket

import pytest

from conftest import EINTR_ANNOUNCEMENT, WAIT_SECONDS, program

LESSON = "05_sticky_packet_demo"
RUNS = 50
SENDS = ['send(5) -> 5 bytes: "hello"', 'send(5) -> 5 bytes: "magic"', "close()"]
END = 'recv(10) -> 0 bytes: ""   (end of stream: the client closed)'


def run_pair(lab, case, server_args=(), eintr_env=None):
    """Run server and client once (eintr_env: with harness/eintr_shim.c preloaded into both)."""
    def env(name):
        return eintr_env(program(LESSON, name)) if eintr_env else None
    server = lab.server(LESSON, "server", "127.0.0.1", "0", "--case", case, *server_args, env=env("server"))
    client = lab.run(LESSON, "client", "127.0.0.1", str(server.port), "--case", case, env=env("client"))
    assert client.returncode == 0, client.stderr
    server.wait()
    assert server.returncode == 0, server.stderr
    if eintr_env:  # the shim really ran, and nothing else was said
        assert client.stderr_lines == server.stderr_lines == [EINTR_ANNOUNCEMENT]
    return server.stdout_lines[1:], client.stdout_lines


CASES = [
    # 情况一 发送方的缓存机制: data1 = conn.recv(10) gets both sends, data2 is empty
    ("send-side", ['recv(10) -> 10 bytes: "hellomagic"', END]),
    # 情况二 接收方的缓存机制: data1 = conn.recv(2) gets 'he', data2 = conn.recv(10) the rest
    ("receive-side", ['recv(2) -> 2 bytes: "he"', 'recv(10) -> 8 bytes: "llomagic"']),
]


@pytest.mark.parametrize("case, receives", CASES)
def test_each_case_gives_the_tutorials_bytes_every_time(lab, case, receives):
    for attempt in range(RUNS):
        server_lines, client_lines = run_pair(lab, case)
        assert client_lines == SENDS, f"attempt {attempt}"
        assert server_lines == [
            "waiting until 10 bytes are queued or the client closes (poll + SO_RCVLOWAT, at most 5 s)",
            "10 bytes queued (ioctl FIONREAD)",
            *receives,
        ], f"attempt {attempt}"


@pytest.mark.parametrize("case, receives", CASES)
def test_interrupted_calls_are_restarted_and_the_bytes_stay_the_tutorials(lab, eintr_env, case, receives):
    # harness/eintr_shim.c fails every other accept/recv/send/poll with EINTR in both programs,
    # as a signal arriving during the call would: the wait (poll + SO_RCVLOWAT) is resumed and
    # every recv() still returns the tutorial's bytes.
    for attempt in range(5):
        server_lines, client_lines = run_pair(lab, case, eintr_env=eintr_env)
        assert client_lines == SENDS, f"attempt {attempt}"
        assert server_lines == [
            "waiting until 10 bytes are queued or the client closes (poll + SO_RCVLOWAT, at most 5 s)",
            "10 bytes queued (ioctl FIONREAD)",
            *receives,
        ], f"attempt {attempt}"


def test_interrupted_udp_calls_are_restarted(lab, eintr_env):
    for attempt in range(5):
        server_lines, client_lines = run_pair(lab, "udp", eintr_env=eintr_env)
        assert client_lines == ['sendto(5) -> 5 bytes: "hello"', 'sendto(5) -> 5 bytes: "magic"', "close()"]
        assert [re.sub(r" from 127\.0\.0\.1:\d+$", "", line) for line in server_lines] == [
            'recvfrom(10) -> 5 bytes: "hello"', 'recvfrom(10) -> 5 bytes: "magic"'], f"attempt {attempt}"


@pytest.mark.parametrize("case, receives", CASES)
def test_the_wait_not_nagle_makes_it_deterministic(lab, case, receives):
    # A Python sender with TCP_NODELAY and a pause between its sends: the two pieces
    # surely travel separately, yet the server's output is the same, because it waits.
    server = lab.server(LESSON, "server", "127.0.0.1", "0", "--case", case)
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_SECONDS) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(b"hello")
        server.wait_for(r"^waiting until 10 bytes are queued")
        sock.sendall(b"magic")
    server.wait()
    assert server.stdout_lines[2:] == ["10 bytes queued (ioctl FIONREAD)", *receives]


def nodelay_split(server_lines, client_lines):
    """Check a "nodelay" run for what TCP does promise; return what each recv() got."""
    assert client_lines == ["TCP_NODELAY on", *SENDS]
    assert server_lines[-1] == END, server_lines
    pieces = [re.fullmatch(r'recv\(10\) -> (\d+) bytes: "([a-z]*)"', line) for line in server_lines[:-1]]
    assert all(pieces), server_lines
    assert all(int(p.group(1)) == len(p.group(2)) > 0 for p in pieces)
    # TCP promises the bytes and their order, not where one recv() ends: no other assertion
    assert "".join(p.group(2) for p in pieces) == "hellomagic", server_lines
    return tuple(p.group(2) for p in pieces)


def test_with_nodelay_and_no_waiting_only_the_bytes_and_their_order_are_promised(lab):
    splits = {nodelay_split(*run_pair(lab, "nodelay")) for _ in range(20)}
    print("splits seen with TCP_NODELAY:", sorted(splits))


def test_interrupted_calls_with_nodelay_still_deliver_the_bytes_in_order(lab, eintr_env):
    for _ in range(5):
        nodelay_split(*run_pair(lab, "nodelay", eintr_env=eintr_env))


def test_udp_keeps_each_sendto_a_separate_datagram_every_time(lab):
    for attempt in range(RUNS):
        server_lines, client_lines = run_pair(lab, "udp")
        assert client_lines == ['sendto(5) -> 5 bytes: "hello"', 'sendto(5) -> 5 bytes: "magic"', "close()"]
        assert [re.sub(r" from 127\.0\.0\.1:\d+$", "", line) for line in server_lines] == [
            'recvfrom(10) -> 5 bytes: "hello"', 'recvfrom(10) -> 5 bytes: "magic"'], f"attempt {attempt}"


def test_udp_datagrams_stay_apart_even_when_both_are_queued(lab):
    # The C++ client sends to a Python socket that reads only after the client has
    # exited, so both datagrams are certainly queued: recvfrom(10) still returns one each.
    for attempt in range(RUNS):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
            receiver.bind(("127.0.0.1", 0))
            receiver.settimeout(WAIT_SECONDS)
            client = lab.run(LESSON, "client", "127.0.0.1", str(receiver.getsockname()[1]), "--case", "udp")
            assert client.returncode == 0, client.stderr
            assert [receiver.recvfrom(10)[0], receiver.recvfrom(10)[0]] == [b"hello", b"magic"], f"attempt {attempt}"


def test_bad_arguments_exit_2_with_usage(lab):
    for name, args in [("client", ["--case", "sideways"]), ("client", ["--case"]), ("client", ["127.0.0.1", "0"]),
                       ("server", ["--case", "tcp"]), ("server", ["127.0.0.1", "1", "extra"]), ("server", ["-x"])]:
        lab.expect_usage_error(LESSON, name, *args)


def test_help_prints_usage_and_exits_0(lab):
    for name in ("server", "client"):
        lab.expect_help(LESSON, name)
