"""harness/lab.py, the students' front door, and a build without pytest (issue 13).

The slow checks (marked `slow`: -m "not slow" leaves them out) configure and build a temporary
copy of the repository, made from the files git knows (never the build folder), and build one
lesson at a time: what a student does after a fresh clone, and what goes wrong for them.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import lab as front_door
from conftest import ROOT, Server, program, scaled

# Configuring and building one lesson takes 10-20 s on an idle 2-core machine; a loaded one
# may need several times that. Only a broken build gets anywhere near this bound.
BUILD_SECONDS = scaled(300)
QUICK_SECONDS = scaled(60)


def run(argv, cwd, timeout=BUILD_SECONDS, env=None):
    """Run a command to its end (bounded); stdout and stderr kept apart. Unless a test says
    otherwise, in the C locale: lab.py and the compiler then speak English, whatever the
    instructor's own LANG is."""
    if env is None:
        env = dict(os.environ, LC_ALL="C.UTF-8")
    return subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="backslashreplace", timeout=timeout, env=env)


def lab_py(copy, *args):
    return run([sys.executable, str(copy / "harness" / "lab.py"), *args], cwd=copy)


def no_traceback(result):
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The repository as a fresh clone has it: the files git knows (committed or about to be),
    no build folder. Shared by this file's slow checks; each one makes the state it needs."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, timeout=QUICK_SECONDS)
    if listed.returncode != 0:
        pytest.fail(f"git ls-files failed in {ROOT}: {listed.stderr.decode(errors='replace')}")
    copy = tmp_path_factory.mktemp("socketlab-copy")
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():  # a file deleted but not yet committed is left out
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    assert not (copy / "build").exists()
    return copy


# --- quick checks: no build ------------------------------------------------------------------

def test_no_arguments_print_the_usage_and_the_lessons():
    result = run([sys.executable, str(ROOT / "harness" / "lab.py")], cwd=ROOT, timeout=QUICK_SECONDS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python3 harness/lab.py [--lang en|zh] run LESSON")
    for lesson in front_door.LESSONS:
        assert re.search(rf"^  {lesson} +\S", result.stdout, re.MULTILINE), result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("how, environment", [
    (["--lang", "zh"], {"LANG": "C.UTF-8"}),
    ([], {"LANG": "zh_CN.UTF-8"}),
    ([], {"LANG": "C.UTF-8", "LC_ALL": "zh_TW.UTF-8"}),
], ids=["--lang-zh", "LANG-zh", "LC_ALL-zh"])
def test_the_lesson_list_speaks_chinese_when_asked(how, environment):
    env = {key: value for key, value in os.environ.items() if key not in ("LANG", "LC_ALL")}
    result = run([sys.executable, str(ROOT / "harness" / "lab.py"), *how, "list"], cwd=ROOT,
                 timeout=QUICK_SECONDS, env=dict(env, **environment))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("课程：\n")
    for lesson, spec in front_door.LESSONS.items():
        assert f"  {lesson:24} {spec['summary'][1]}\n" in result.stdout
        assert re.search(r"[\u4e00-\u9fff]", spec["summary"][1]), f"{lesson}: the Chinese summary is not Chinese"
    for demo in front_door.LESSONS["05_sticky_packet_demo"]["demos"]:
        assert re.search(r"[\u4e00-\u9fff]", demo["title"][1]), demo["title"]


def test_lc_all_wins_over_lang_and_lang_en_wins_over_both():
    env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="C.UTF-8")
    result = run([sys.executable, str(ROOT / "harness" / "lab.py"), "list"], cwd=ROOT, timeout=QUICK_SECONDS, env=env)
    assert result.stdout.startswith("lessons:\n"), result.stdout
    env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="zh_CN.UTF-8")
    result = run([sys.executable, str(ROOT / "harness" / "lab.py"), "--lang", "en", "list"], cwd=ROOT,
                 timeout=QUICK_SECONDS, env=env)
    assert result.stdout.startswith("lessons:\n"), result.stdout


@pytest.mark.parametrize("args, problem", [(["run"], "lab.py: run needs a lesson"),
                                           (["run", "99"], "lab.py: no lesson called '99'"),
                                           (["fly"], "lab.py: ")],
                         ids=["run-alone", "unknown-lesson", "unknown-command"])
def test_a_bad_command_line_says_what_is_wrong_with_the_usage_and_lessons(args, problem):
    result = run([sys.executable, str(ROOT / "harness" / "lab.py"), *args], cwd=ROOT, timeout=QUICK_SECONDS)
    assert result.returncode == 2
    assert result.stderr.startswith(problem), result.stderr
    assert "usage: python3 harness/lab.py [--lang en|zh] run LESSON" in result.stderr
    assert "01_tcp_basic" in result.stderr and "07_file_transfer" in result.stderr
    assert result.stdout == ""
    no_traceback(result)


@pytest.mark.parametrize("lesson", [lesson for lesson, spec in front_door.LESSONS.items() if "prompt" in spec])
def test_the_prompt_lab_py_types_at_is_the_one_the_client_prints(lesson):
    # lab.py waits for this prompt before typing each command: a client that printed another
    # one would leave lab.py waiting until its time limit.
    prompt = front_door.LESSONS[lesson]["prompt"]
    assert f'"{prompt}"' in (ROOT / lesson / "client.cpp").read_text()


def test_each_command_typed_into_06_is_shown_even_one_with_no_output(lab, tmp_path, capsys):
    # What `lab.py run 06` does for its first client, with the real programs: `true` prints
    # nothing, so the transcript is readable only if it shows each command it sends.
    lesson = "06_framed_fix"
    server = lab.server(lesson, "server", "--scheme", "json", "127.0.0.1", "0")
    status = front_door.type_at_prompt(
        [program(lesson, "client"), "--scheme", "json", "127.0.0.1", str(server.port)], tmp_path,
        "echo one\ntrue\necho two\n", front_door.LESSONS[lesson]["prompt"], None)
    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        "[client] >>: echo one", "[client] one",
        "[client] >>: true",
        "[client] >>: echo two", "[client] two",
        "[client] >>: (Ctrl-D: end of input)"]


# --- slow checks: configure and build a copy of the repository ------------------------------

@pytest.mark.slow
def test_the_first_run_builds_only_that_lesson_shows_progress_and_paste_able_commands(copy):
    shutil.rmtree(copy / "build", ignore_errors=True)
    result = lab_py(copy, "run", "01")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "lab.py: configuring build/: cmake --preset default" in out
    assert "lab.py: building 01_tcp_basic's programs: cmake --build build -j" in out
    # CMake's own progress lines, one per step, as they happen
    assert re.search(r"^\[ *\d+%\] Building CXX object 01_tcp_basic/.*server\.cpp\.o$", out, re.MULTILINE), out
    for program_target in ("01_tcp_basic_client", "01_tcp_basic_server"):  # in either order: make -j2
        assert re.search(rf"^\[ *\d+%\] Built target {program_target}$", out, re.MULTILINE), out
    assert re.search(r"^\[100%\] Built target 01_tcp_basic$", out, re.MULTILINE), out  # the lesson, last
    assert "[client] HELLO SOCKET" in out
    # only lesson 01: no other lesson's program, no benchmark program
    built = sorted(str(path.relative_to(copy / "build")) for path in (copy / "build").glob("*/*")
                   if path.is_file() and os.access(path, os.X_OK))
    assert built == ["01_tcp_basic/client", "01_tcp_basic/server"]
    no_traceback(result)

    # The transcript's commands work when pasted at the top of the repository.
    server_command = re.search(r"^\[server\] \$ (.*)$", out, re.MULTILINE).group(1)
    assert server_command == "./build/01_tcp_basic/server 127.0.0.1 0"
    client_command = re.search(r"^\[client\] \$ (.*)$", out, re.MULTILINE).group(1)
    assert re.fullmatch(r"\./build/01_tcp_basic/client 127\.0\.0\.1 \d+ 'hello socket'", client_command)
    server = Server(shlex.split(server_command), cwd=copy)
    try:
        client_argv = shlex.split(client_command)
        client_argv[2] = str(server.port)  # the port this server got
        client = run(client_argv, cwd=copy, timeout=QUICK_SECONDS)
        assert client.returncode == 0, client.stderr
        assert client.stdout.splitlines()[-1] == "HELLO SOCKET"
    finally:
        server.stop()


@pytest.mark.slow
def test_a_broken_lesson_stops_only_that_lesson_and_names_the_file(copy):
    source = copy / "02_udp_basic" / "server.cpp"
    good = source.read_text()
    source.write_text(good + "\nint broken(  // a student's half-typed line\n")
    try:
        broken = lab_py(copy, "run", "02")
    finally:
        source.write_text(good)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert broken.stderr.splitlines()[-1].startswith(
        "lab.py: 02_udp_basic did not build: the compiler found errors in 02_udp_basic/server.cpp."), broken.stderr
    assert re.search(r"02_udp_basic/server\.cpp:\d+:\d+: error:", broken.stdout), broken.stdout  # shown, not hidden
    assert "[server]" not in broken.stdout  # nothing was run
    no_traceback(broken)

    source.write_text(good + "\nint broken(\n")
    try:
        other = lab_py(copy, "run", "01")  # another lesson still builds and runs
    finally:
        source.write_text(good)
    assert other.returncode == 0, other.stdout + other.stderr
    assert "[client] HELLO SOCKET" in other.stdout


def configured(copy):
    if not (copy / "build" / "Makefile").exists():
        result = run(["cmake", "--preset", "default"], cwd=copy)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_a_half_made_build_folder_is_configured_again(copy):
    # A configure that failed or was stopped leaves a CMakeCache.txt and no Makefile; a build
    # there fails with "No rule to make target 'Makefile'".
    configured(copy)
    (copy / "build" / "Makefile").unlink()
    result = lab_py(copy, "run", "01")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lab.py: build/ is half-made (no Makefile: an earlier configure failed or was stopped)" in result.stdout
    assert "lab.py: configuring build/: cmake --preset default" in result.stdout
    assert "[client] HELLO SOCKET" in result.stdout
    no_traceback(result)


@pytest.mark.slow
def test_a_build_folder_made_for_another_copy_is_configured_again(copy, tmp_path):
    # The repository folder was copied (or moved) with its build/ inside: CMake refuses a
    # cache made for another folder, and lab.py starts that cache afresh.
    configured(copy)
    other = tmp_path / "moved"
    shutil.copytree(copy, other, symlinks=True)
    result = lab_py(other, "run", "01")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"lab.py: build/ was configured for another copy of the repository ({copy})" in result.stdout
    assert "[client] HELLO SOCKET" in result.stdout
    no_traceback(result)


# --- a build without pytest ------------------------------------------------------------------

@pytest.mark.slow
def test_without_pytest_the_build_works_the_tests_fail_clearly_and_installing_it_turns_them_on(copy, tmp_path):
    # A Python without pytest: a virtual environment of this one, without its packages.
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, timeout=QUICK_SECONDS)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    build = copy / "build-nopytest"
    shutil.rmtree(build, ignore_errors=True)

    configure = run(["cmake", "-S", ".", "-B", str(build), f"-DSOCKETLAB_PYTHON={python}"], cwd=copy)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    status = [line.removeprefix("-- ") for line in configure.stdout.splitlines() if "tests are off" in line]
    assert len(status) == 1, configure.stdout
    message = status[0]
    assert f"SOCKETLAB_PYTHON={python} cannot import pytest" in message
    assert "python3-pytest" in message

    built = run(["cmake", "--build", str(build), "-j", "2", "--target", "01_tcp_basic"], cwd=copy)
    assert built.returncode == 0, built.stdout + built.stderr

    # Every test is still there, under its name and label, and fails with that message.
    for selection in ([], ["-L", "05"], ["-R", "lab_front_door"]):
        tests = run(["ctest", "--test-dir", str(build), "--output-on-failure", *selection], cwd=copy)
        assert tests.returncode != 0, tests.stdout
        assert message in tests.stdout, tests.stdout
        assert "tests passed" in tests.stdout and "0% tests passed" in tests.stdout, tests.stdout

    # "Installing pytest" for that Python changes a folder on its sys.path: the next build
    # reconfigures by itself, and the tests run for real, one line per check, with a report.
    site_packages = run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                        cwd=tmp_path, timeout=QUICK_SECONDS).stdout.strip()
    pytest_home = Path(pytest.__file__).resolve().parent.parent
    Path(site_packages, "installed-pytest.pth").write_text(f"{pytest_home}\n")
    rebuilt = run(["cmake", "--build", str(build), "-j", "2", "--target", "01_tcp_basic"], cwd=copy)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert f"-- socketlab: tests on, run with {python} -m pytest" in rebuilt.stdout, rebuilt.stdout
    tests = run(["ctest", "--test-dir", str(build), "-V", "-R", "^01_tcp_basic$"], cwd=copy)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "PASSED harness/test_01_tcp_basic.py::test_client_gets_the_reply_upper_cased" in tests.stdout, tests.stdout
    report = (build / "junit" / "01_tcp_basic.xml").read_text()
    assert '<testsuite name="01_tcp_basic"' in report
    assert 'name="test_client_gets_the_reply_upper_cased"' in report


# --- one CTest test per file, one line and one <testcase> per check ---------------------------

def collected_checks(harness, file, marks):
    listed = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marks,
                  file], cwd=harness, timeout=QUICK_SECONDS)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return [line.split("::", 1)[1] for line in listed.stdout.splitlines() if "::" in line]


@pytest.mark.slow
def test_ctest_names_a_broken_promise_with_its_assertion_and_keeps_the_other_reports(copy):
    # The instructor's view: `ctest -L 01 --output-on-failure`. Lesson 01's server stops upper-casing.
    configured(copy)
    source = copy / "01_tcp_basic" / "server.cpp"
    good = source.read_text()
    assert "std::toupper(c)" in good
    source.write_text(good.replace("std::toupper(c)", "c"))
    other_report = copy / "build" / "junit" / "02_udp_basic.xml"  # as an earlier full run left it
    other_report.parent.mkdir(exist_ok=True)
    other_report.write_text('<testsuites><testsuite name="02_udp_basic" tests="1"/></testsuites>')
    try:
        built = run(["cmake", "--build", "build", "-j", "2", "--target", "01_tcp_basic"], cwd=copy)
        assert built.returncode == 0, built.stdout + built.stderr
        tests = run(["ctest", "--test-dir", "build", "-L", "01", "-j", "2", "--output-on-failure"], cwd=copy)
    finally:
        source.write_text(good)
    assert tests.returncode != 0, tests.stdout
    assert re.search(r"Test +#\d+: 01_tcp_basic \.+\*+Failed", tests.stdout), tests.stdout
    # one line per check (pytest -rA), the broken one with its assertion
    checks = collected_checks(copy / "harness", "test_01_tcp_basic.py", "not torture and not promise")
    assert len(checks) >= 8, checks
    for check in checks:
        assert re.search(rf"(PASSED|FAILED) harness/test_01_tcp_basic.py::{re.escape(check)}\b", tests.stdout), check
    assert "FAILED harness/test_01_tcp_basic.py::test_client_gets_the_reply_upper_cased" in tests.stdout
    assert "PASSED harness/test_01_tcp_basic.py::test_server_prints_the_clients_real_address" in tests.stdout
    assert re.search(r"assert .*HELLO", tests.stdout), tests.stdout  # the assertion itself

    # pytest's own report: one <testcase> per check, the broken one failed; the other lesson's stays.
    report = ElementTree.parse(copy / "build" / "junit" / "01_tcp_basic.xml").getroot().find("testsuite")
    assert report.get("name") == "01_tcp_basic"
    cases = report.findall("testcase")
    assert [case.get("name") for case in cases] == checks
    failed = [case.get("name") for case in cases if case.find("failure") is not None]
    assert "test_client_gets_the_reply_upper_cased" in failed
    assert int(report.get("tests")) == len(checks) and int(report.get("failures")) == len(failed)
    assert other_report.read_text().startswith('<testsuites><testsuite name="02_udp_basic"')
    for part in ("01_tcp_basic_promises", "01_tcp_basic_torture"):  # the same run's other parts
        assert (copy / "build" / "junit" / f"{part}.xml").exists(), part
