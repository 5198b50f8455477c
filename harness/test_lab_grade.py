"""`lab.py check` on lessons 03 to 07, and `lab.py grade` for a class (issue 19), tried on programs
written for the purpose (harness/check_examples/). The fixtures and helpers are test_lab_check.py's,
which tries lesson 01, the command line, the reports and the language; the two files are two CTest
tests (lab_check and lab_grade) so that `ctest -j` runs them side by side.
"""

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import scaled
from test_lab_check import LAB, PROMISES_03, examples, failed, lab, lines_after, processes_mentioning, verdicts  # noqa: F401 (examples: a fixture)


# --- lesson 03 ---------------------------------------------------------------------------

@pytest.mark.parametrize("example, broken", [
    ("03_server_correct.py", set()),
    ("03_server_correct_cpp_example.cpp", set()),
    ("03_server_no_empty_check.py", {"a client that vanishes does not stop the server"}),
    ("03_server_reset_kills.py", {"a client that resets the connection ends only its session"}),
    ("03_server_no_reuseaddr.py", {"the server starts again on its port at once"}),
])
def test_lesson_03_servers_fail_exactly_the_promises_their_bugs_break(examples, example, broken):
    status, out, err, _ = lab("check", "03", "--server", str(examples / example))
    assert set(verdicts(out)) == set(PROMISES_03), out + err
    assert failed(out) == broken, out
    assert status == (1 if any(PROMISES_03[promise] == "tutorial" for promise in broken) else 0)


def test_a_server_without_so_reuseaddr_is_told_so(examples):
    _, out, _, _ = lab("check", "03", "--server", str(examples / "03_server_no_reuseaddr.py"))
    why, hint = lines_after(out, "the server starts again on its port at once")
    assert "Address already in use" in why
    assert hint.startswith("     hint: SO_REUSEADDR missing")


def test_lesson_03_clients(examples):
    status, out, err, _ = lab("check", "03", "--client", str(examples / "03_client_correct.py"))
    assert (status, len(verdicts(out)), failed(out)) == (0, 2, set()), out + err
    status, out, err, _ = lab("check", "03", "--client", "tutorial:socket_client")
    assert (status, failed(out)) == (0, {"an empty line does not stall the client"}), out + err


def test_server_and_client_at_once(examples):
    status, out, err, _ = lab("check", "03", "--server", str(examples / "03_server_correct.py"),
                              "--client", str(examples / "03_client_correct.py"))
    assert (status, len(verdicts(out)), failed(out)) == (0, len(PROMISES_03) + 2, set()), out + err


def test_ctrl_c_stops_the_check_and_everything_it_started(examples):
    # A student presses Ctrl-C while a silent server is being checked: the terminal sends SIGINT
    # to lab.py's whole process group. lab.py exits 130 and the server is gone (fixture).
    lab_py = subprocess.Popen([sys.executable, str(LAB), "check", "01", "--server", str(examples / "01_server_silent.py")],
                              start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + scaled(30)
    while not processes_mentioning(str(examples / "01_server_silent.py") + "\x00127.0.0.1"):
        assert time.monotonic() < deadline and lab_py.poll() is None, "the server under check never started"
        time.sleep(0.05)
    os.killpg(lab_py.pid, signal.SIGINT)
    lab_py.communicate(timeout=scaled(30))
    assert lab_py.returncode == 130


@pytest.mark.parametrize("args, held", [
    (["02", "--server", "tutorial:000_udp_server"], {"tutorial": "1 of 1", "socketlab": "0 of 2"}),
    (["04", "--server", "tutorial:000_cmd_server"], {"tutorial": "3 of 3", "socketlab": "1 of 1"}),
    (["06", "--scheme", "fixed", "--server", "tutorial:002_fix2_server"], {"tutorial": "0 of 2", "socketlab": "0 of 2"}),
])
def test_the_other_lessons_check_the_tutorials_servers(args, held):
    # 06: the tutorial's server reads the command with one bare recv(1024); lesson 06 frames the
    # request too, so nothing it promises holds for it (a documented change of the wire).
    status, out, err, _ = lab("check", *args)
    assert status == (0 if held["tutorial"].split(" of ")[0] == held["tutorial"].split(" of ")[1] else 1), out + err
    for tier, count in held.items():
        assert f"{tier}: {count} promises hold" in out, out


# --- grade ---------------------------------------------------------------------------------

def test_grade_a_class_of_five(examples, tmp_path):
    submissions = tmp_path / "class"
    students = {"ana": ("03_server_correct.py", "server.py"), "bo": ("03_server_no_empty_check.py", "server.py"),
                "chen": ("03_server_correct_cpp_example.cpp", "server.cpp"),
                "dev": ("03_server_no_greeting_cpp_example.cpp", "server.cpp"),
                "eve": ("01_server_broken_cpp_example.cpp", "server.cpp")}
    for student, (example, name) in students.items():
        (submissions / student).mkdir(parents=True)
        shutil.copy(examples / example, submissions / student / name)
    shutil.copy(examples / "03_client_correct.py", submissions / "ana" / "client.py")
    other_lesson = submissions / "socketlab-report" / "01.csv"
    other_lesson.parent.mkdir()
    other_lesson.write_text("kept\n")
    status, out, err, _ = lab("grade", "03", str(submissions))
    assert status == 0, out + err
    rows = {line.split()[0]: line for line in out.splitlines()[1:6]}
    assert set(rows) == set(students), out
    assert rows["ana"].split()[1:3] == ["4/5", "3/4"] or rows["ana"].split()[1:3] == ["5/5", "4/4"], out
    assert rows["bo"].split()[1:3] == ["3/4", "3/3"], out
    assert rows["chen"].split()[1:3] == ["4/4", "3/3"], out
    assert rows["dev"].split()[1:3] == ["3/4", "3/3"], out
    assert "server.cpp does not build: " in rows["eve"] and "error: expected" in rows["eve"], out
    with open(submissions / "socketlab-report" / "03.csv", newline="") as table:
        written = list(csv.reader(table))
    assert [row[0] for row in written] == ["student", "ana", "bo", "chen", "dev", "eve"]
    reports = sorted(p.name for p in (submissions / "socketlab-report" / "03").iterdir())
    assert reports == ["ana.xml", "bo.xml", "chen.xml", "dev.xml", "eve.xml"]
    eve = ElementTree.parse(submissions / "socketlab-report" / "03" / "eve.xml").getroot()
    assert eve.find(".//error") is not None
    assert other_lesson.read_text() == "kept\n"
