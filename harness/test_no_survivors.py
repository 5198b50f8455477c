"""The harness itself: nothing a check starts outlives it, and a check that hangs fails alone.

Each check here runs pytest on a small test file written for the purpose, with this folder's
conftest.py, the way CTest runs a lesson's file, and then looks through /proc for the processes
that file started: each one runs a `sleep` with an argument no one else uses (unique_sleep).
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from conftest import processes_running, scaled

HARNESS = Path(__file__).resolve().parent


def run_pytest(tmp_path, source, *options):
    """pytest on `source` (a test file's text) with our conftest; returns (CompletedProcess,
    the JUnit report's testcases by name)."""
    (tmp_path / "test_sample.py").write_text(source)
    report = tmp_path / "report.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "conftest", "-p", "no:cacheprovider",
                           f"--junitxml={report}", *options, "test_sample.py"],
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(HARNESS)), capture_output=True,
                          text=True, timeout=scaled(120))
    cases = {}
    if report.exists():
        cases = {case.get("name"): case for case in ElementTree.parse(report).getroot().iter("testcase")}
    return done, cases


def test_a_hanging_check_fails_under_its_own_name_and_its_processes_go(tmp_path, unique_sleep):
    # A server that never prints its ready line; a check that hangs after starting a shell
    # whose children escape into sessions of their own; a check that forgets a child. Each is
    # killed with its check, and the next check still runs and passes.
    never_ready, escaped_a, escaped_b, forgotten, hanging = (unique_sleep() for _ in range(5))
    source = f"""
import subprocess, time, pytest
from conftest import Process, Server

def test_server_without_a_ready_line():
    Server(["sleep", "{never_ready}"], ready_timeout=1)

@pytest.mark.timeout(3)
def test_hangs():
    shell = Process(["sh", "-c", "setsid sh -c 'sleep {escaped_a} & exec sleep {escaped_b}' & "
                                 "echo started; exec sleep {hanging}"])
    shell.wait_for("started")
    time.sleep(600)

def test_forgets_a_child():
    subprocess.Popen(["sleep", "{forgotten}"])

def test_the_next_check_runs():
    assert True
"""
    done, cases = run_pytest(tmp_path, source)
    assert done.returncode == 1, done.stdout + done.stderr
    assert set(cases) == {"test_server_without_a_ready_line", "test_hangs", "test_forgets_a_child",
                          "test_the_next_check_runs"}, done.stdout
    no_ready = cases["test_server_without_a_ready_line"].find("failure").get("message")
    assert "sleep printed no line within 1 s" in no_ready and "`listening on HOST:PORT`" in no_ready, no_ready
    assert "flushed" in no_ready, no_ready
    assert "Timeout" in cases["test_hangs"].find("failure").get("message"), done.stdout
    forgotten_case = cases["test_forgets_a_child"]
    assert forgotten_case.find("failure") is None
    killed = {prop.get("name"): prop.get("value") for prop in forgotten_case.iter("property")}
    assert killed == {"killed_after_check": f"sleep {forgotten}"}, done.stdout  # the report says what went
    assert cases["test_the_next_check_runs"].find("failure") is None
    for seconds in (never_ready, escaped_a, escaped_b, forgotten, hanging):
        assert processes_running("sleep", seconds) == [], (seconds, done.stdout)


def test_a_process_alive_at_the_end_of_the_run_fails_the_run_by_name(tmp_path, unique_sleep):
    # Started at import, outside any check: no check's sweep sees it, the end of the run does.
    leftover = unique_sleep()
    done, cases = run_pytest(tmp_path, f"import subprocess\nsubprocess.Popen(['sleep', '{leftover}'])\n")
    assert cases == {}
    assert done.returncode == 1, done.stdout + done.stderr
    assert "socketlab: processes still running at the end of the run (now killed):" in done.stdout, done.stdout
    assert f"sleep {leftover}" in done.stdout, done.stdout
    assert processes_running("sleep", leftover) == []
