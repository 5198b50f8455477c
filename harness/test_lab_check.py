"""`lab.py check` and `lab.py grade` (issue 19), tried on programs written for the purpose
(harness/check_examples/): each buggy one fails exactly the promises its bug breaks, each correct
one passes, and no process of theirs is left after any check.

The promises themselves live in the lesson test files (@pytest.mark.promise); ctest runs them
against our programs, lab.py check against anyone's. These tests run lab.py as a student does.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from conftest import scaled

HARNESS = Path(__file__).resolve().parent
LAB = HARNESS / "lab.py"
EXAMPLES = HARNESS / "check_examples"
LISTEN_BOUND = scaled(10)  # lab.py's bound for a server to listen (conftest LISTEN_SECONDS)
SILENCE = scaled(5)        # a promise's bound for the next bytes (SILENCE in the lesson tests)

PROMISES_01 = {
    "a short message comes back upper-cased": "tutorial",
    "the server closes the connection after its reply": "tutorial",
    "a message longer than 1024 bytes comes back whole": "socketlab",
    "a 16 MiB message comes back whole": "socketlab",
}
PROMISES_03 = {
    "greets with 连接成功": "tutorial",
    "each message comes back upper-cased": "tutorial",
    "exit ends the session and the next client is served": "tutorial",
    "a client that vanishes does not stop the server": "tutorial",
    "a client that resets the connection ends only its session": "socketlab",
    "a message longer than 1024 bytes all comes back": "socketlab",
    "the server starts again on its port at once": "socketlab",
}
VERDICT = re.compile(r"^(PASS|FAIL|SKIP) (tutorial|socketlab) +(.+)$")


def processes_mentioning(text):
    """Live processes (zombies left out) with `text` anywhere in their command line."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline, open(f"/proc/{pid}/stat") as stat:
                if text.encode() in cmdline.read() and stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(pid))
        except OSError:
            pass  # it ended while we looked
    return found


@pytest.fixture
def examples(tmp_path):
    """A copy of check_examples/ in a folder of this test's own, whose name is in the command line
    of every program started from it; the test fails if any of them is still running at its end.
    (Compiled C++ examples run from lab.py's build folder: their names end in _cpp_example.)"""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    for source in folder.glob("*.cpp"):  # a name no other program has, for the survivor check
        source.rename(folder / f"{source.stem}_cpp_example.cpp")
    yield folder
    survivors = processes_mentioning(str(folder)) + processes_mentioning("_cpp_example ")
    described = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:150] for pid in survivors]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"processes left running after lab.py ended: {survivors}: {described}"


def lab(*args, lang="en", timeout=300):
    """Run lab.py as a student does; (exit status, stdout, stderr, seconds it took)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(LAB), "--lang", lang, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=scaled(timeout))
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def verdicts(stdout):
    """{promise: PASS/FAIL/SKIP} from lab.py check's lines (English)."""
    found = {}
    for line in stdout.splitlines():
        match = VERDICT.match(line)
        if match:
            found[match.group(3)] = match.group(1)
    return found


def failed(stdout):
    return {promise for promise, verdict in verdicts(stdout).items() if verdict == "FAIL"}


def lines_after(stdout, promise):
    """The why and hint lines printed under one promise's line."""
    lines = stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.endswith(promise))
    return lines[start + 1:start + 3]


# --- lesson 01 ---------------------------------------------------------------------------

def test_a_correct_python_server_passes_every_promise(examples):
    status, out, err, _ = lab("check", "01", "--server", str(examples / "01_server_correct.py"))
    assert (status, verdicts(out)) == (0, dict.fromkeys(PROMISES_01, "PASS")), out + err
    assert "tutorial: 2 of 2 promises hold" in out and "socketlab: 2 of 2 promises hold" in out


def test_the_tutorials_one_recv_server_passes_the_tutorial_tier_and_fails_the_long_message(examples):
    status, out, err, _ = lab("check", "01", "--server", "tutorial:000_tcp_server")
    assert status == 0, out + err  # every tutorial promise holds
    assert failed(out) == {"a message longer than 1024 bytes comes back whole", "a 16 MiB message comes back whole"}
    why, hint = lines_after(out, "a message longer than 1024 bytes comes back whole")
    assert why == "     why: 1024 of the 5000 bytes came back, then the connection was reset (the server closed " \
                  "with part of the message unread: one recv taken as one message?)"
    assert hint.startswith("     hint: one recv taken as one message: recv(1024) returns at most 1024 bytes")


def test_a_server_that_never_handles_an_empty_recv_fails_with_the_hint_in_bounded_time(examples):
    status, out, err, seconds = lab("check", "01", "--server", str(examples / "01_server_no_empty_check.py"))
    assert status == 1, out + err
    assert failed(out) == {"the server closes the connection after its reply"}
    why, hint = lines_after(out, "the server closes the connection after its reply")
    assert why == f"     why: the reply b'HELLO SOCKET' came, but the connection was still open {SILENCE:g} s later"
    assert hint.startswith("     hint: recv() returning b'' not handled")
    assert seconds < SILENCE + scaled(60), seconds


def test_a_server_that_sends_without_a_loop_fails_only_the_16_mib_message(examples):
    status, out, err, _ = lab("check", "01", "--server", str(examples / "01_server_send_no_loop.py"))
    assert status == 0, out + err
    assert failed(out) == {"a 16 MiB message comes back whole"}
    why, hint = lines_after(out, "a 16 MiB message comes back whole")
    assert re.fullmatch(r"     why: \d+ of the 16777280 bytes came back, then the server closed the connection", why), why
    assert hint.startswith("     hint: send without a loop")


def test_a_server_that_never_listens_gets_one_clear_line_and_is_stopped(examples):
    status, out, err, seconds = lab("check", "01", "--server", str(examples / "01_server_never_listens.py"))
    assert status == 1, out + err
    assert failed(out) == set(PROMISES_01)
    first_why = lines_after(out, "a short message comes back upper-cased")[0]
    assert re.fullmatch(rf"     why: nothing listened on 127\.0\.0\.1:\d+ within {LISTEN_BOUND:g} s", first_why)
    assert out.count("nothing listened on") == len(PROMISES_01)  # the others: did not start (the same reason)
    assert seconds < LISTEN_BOUND + scaled(60), seconds  # waited for it once, not once per promise


def test_a_server_that_accepts_and_stays_silent_fails_in_bounded_time(examples):
    status, out, err, seconds = lab("check", "01", "--server", str(examples / "01_server_silent.py"))
    assert status == 1, out + err
    assert failed(out) == set(PROMISES_01)
    assert f"     why: sent b'hello socket', got back b'' (silent)" in out
    assert seconds < len(PROMISES_01) * SILENCE + scaled(60), seconds


def test_a_server_that_forks_a_child_keeping_the_port_leaves_nothing_behind(examples):
    # The child sleeps for an hour with the port open; the examples fixture fails the test if it
    # (or its parent) is still running once lab.py has ended.
    status, out, err, _ = lab("check", "01", "--server", str(examples / "01_server_forks.py"))
    assert (status, verdicts(out)) == (0, dict.fromkeys(PROMISES_01, "PASS")), out + err


def test_a_cpp_server_is_compiled_with_the_lessons_line_and_checked(examples):
    status, out, err, _ = lab("check", "01", "--server", str(examples / "01_server_correct_cpp_example.cpp"))
    assert (status, verdicts(out)) == (0, dict.fromkeys(PROMISES_01, "PASS")), out + err
    assert out.startswith("lab.py: compiling ")


def test_a_cpp_server_that_does_not_compile_shows_the_errors_and_runs_nothing(examples):
    status, out, err, _ = lab("check", "01", "--server", str(examples / "01_server_broken_cpp_example.cpp"))
    assert status == 1
    assert verdicts(out) == {}
    assert "g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -o " in err
    assert "error: expected ';' before '}' token" in err.replace("‘", "'").replace("’", "'")
    assert err.rstrip().endswith("lab.py: did not compile")


def test_clients_are_checked_against_a_stand_in_server(examples):
    status, out, err, _ = lab("check", "01", "--client", str(examples / "01_client_correct.py"))
    assert (status, failed(out)) == (0, set()), out + err
    assert len(verdicts(out)) == 2
    status, out, err, _ = lab("check", "01", "--client", "tutorial:000_tcp_client")
    assert (status, failed(out)) == (0, {"the client prints a 5000-byte reply whole"}), out + err
    assert "     why: the server sent 5000 bytes, the client printed 1024 of them" in out


# --- the command line, reports, language -------------------------------------------------

@pytest.mark.parametrize("args, problem", [
    (["check", "01"], "check needs --server CMD or --client CMD"),
    (["check"], "check needs a lesson"),
    (["check", "05", "--server", "x"], "05_sticky_packet_demo has no promises to check"),
    (["check", "01", "--server", "tutorial:no_such_program"], "no tutorial program 'no_such_program'"),
    (["check", "01", "--server", "no_such_file.py"], "no such file: no_such_file.py"),
    (["check", "01", "--server", "'unbalanced"], "cannot split"),
    (["check", "01", "--server", "x", "--scheme", "xml"], "invalid choice"),
    (["grade", "03"], "grade needs a folder of submissions"),
    (["check", "06", "--server", "x.py"], "06_framed_fix needs --scheme ack|fixed|json"),
    (["check", "02", "--client", "x.py"], "02_udp_basic checks servers only"),
    (["run", "01", "threaded_server"], "01_tcp_basic has no server called 'threaded_server'"),
    (["run", "01", "--scheme", "ack"], "01_tcp_basic takes no --scheme"),
])
def test_a_bad_command_line_exits_2(args, problem):
    status, out, err, _ = lab(*args)
    assert status == 2, (out, err)
    assert problem in err.splitlines()[0], err


def test_junit_report_and_chinese_lines(examples, tmp_path):
    report = tmp_path / "check.xml"
    status, out, err, _ = lab("check", "01", "--server", "tutorial:000_tcp_server", "--junit", str(report), lang="zh")
    assert status == 0, out + err
    assert "PASS tutorial  短消息大写后发回" in out.splitlines()
    assert "FAIL socketlab 超过 1024 字节的消息完整发回" in out.splitlines()
    assert "     提示：把一次 recv 当成一条消息：recv(1024) 最多返回 1024 字节" in out
    assert "tutorial：2 条约定中 2 条成立" in out
    cases = ElementTree.parse(report).getroot().iter("testcase")
    outcomes = {case.get("name"): [child.tag for child in case] for case in cases}
    assert outcomes == {"test_promise_a_short_message_comes_back_upper_cased": [],
                        "test_promise_the_server_closes_after_its_reply": [],
                        "test_promise_a_long_message_comes_back_whole": ["failure"],
                        "test_promise_a_16_mib_message_comes_back_whole": ["failure"]}


def test_a_chinese_locale_gets_chinese_lines(examples):
    env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="")
    done = subprocess.run([sys.executable, str(LAB), "check", "03", "--server", str(examples / "03_server_correct.py")],
                          capture_output=True, text=True, env=env, timeout=scaled(300))
    assert "PASS tutorial  连接后发送问候 连接成功" in done.stdout.splitlines(), done.stdout + done.stderr


def test_help_texts():
    status, out, err, _ = lab("--help")
    assert status == 0 and "usage: usage:" not in out and out.startswith("usage: python3 harness/lab.py")
    assert "lab.py check 01 --server" in out and "lab.py grade 03 SUBMISSIONS/" in out
    status, out, _, _ = lab("check", "--help")
    assert status == 0 and "{host} and {port}" in out and "tutorial:NAME" in out and "Exit status: 0" in out
    status, out, _, _ = lab("check", "--help", lang="zh")
    assert status == 0 and "退出状态" in out
    status, out, _, _ = lab("grade", "--help")
    assert status == 0 and "SUBMISSIONS/socketlab-report/NN.csv" in out


def test_run_a_variant_with_chinese_frame_lines():
    status, out, err, _ = lab("run", "03", "threaded_server", lang="zh")
    assert status == 0, out + err
    assert "lab.py: 编译 03_loop_server 的程序: cmake --build build" in out
    assert "[server] $ ./build/03_loop_server/threaded_server 127.0.0.1 0" in out
    assert "[client] （退出状态 0）" in out
    assert "(exit status" not in out
