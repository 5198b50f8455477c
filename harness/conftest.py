"""Fixtures that run a lesson's programs as real processes on 127.0.0.1.

Every test gets `lab`, a LabProcesses object:

    server = lab.server("01_tcp_basic")             # starts ./server 127.0.0.1 0, waits for
    server.port                                     # "listening on 127.0.0.1:PORT"
    result = lab.run("01_tcp_basic", "client", "127.0.0.1", str(server.port))
    result.returncode, result.stdout, result.stderr

    client = lab.start("03_loop_server", "client", ...)   # a long-running process
    client.wait_for(r"HELLO")                        # bounded wait for an output line

Nothing a test starts outlives it, pass, fail, time-out or Ctrl-C: every program runs in
its own process group, this pytest process is a subreaper (every orphan of a program becomes
its child, even one that called setsid), and each test ends by killing what is left of the
processes it started and of every descendant of ours. A check that runs longer than its time
limit (pytest-timeout, CHECK_SECONDS) fails under its own name, and its programs go the same
way. The session fails, naming them, if any process of ours is still alive at its end. Any
sanitizer report in any process's stderr fails the test.

    env = eintr_env(program("02_udp_basic", "server"))   # every other socket call fails
    server = lab.server("02_udp_basic", env=env)         # with EINTR (harness/eintr_shim.c)
"""

import collections
import contextlib
import ctypes
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = Path(os.environ.get("SOCKETLAB_BUILD_DIR", ROOT / "build"))

# The first line every server prints: "listening on 127.0.0.1:43817", maybe "(udp)" after it.
READY_LINE = re.compile(r"^listening on (?P<host>\S+):(?P<port>\d+)(?: \((?:tcp|udp)\))?$")

# Sanitizer builds (the asan and tsan presets) report problems on stderr.
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer")


def _time_scale():
    """SOCKETLAB_TIME_SCALE: how many times slower than a plain build the programs may run.
    The sanitizer test presets set it (asan 3, tsan 5); a plain run keeps 1."""
    text = os.environ.get("SOCKETLAB_TIME_SCALE", "1")
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    if not 1.0 <= scale <= 100.0:
        raise pytest.UsageError(f"SOCKETLAB_TIME_SCALE={text!r}: give a number from 1 to 100")
    return scale


# One time scale for the whole harness: every bounded wait the harness owns, and every time
# limit a test passes to a program (--wait, --timeout), goes through scaled(), so that a
# sanitizer build under load gets the same margin as a plain build on an idle machine.
TIME_SCALE = _time_scale()


def scaled(seconds):
    """A wait or a limit of `seconds` on a plain build, stretched by SOCKETLAB_TIME_SCALE."""
    return seconds * TIME_SCALE


def seconds_arg(seconds):
    """scaled(seconds) as a program's command-line argument: `--wait`, seconds_arg(30)."""
    return f"{scaled(seconds):g}"


# A check's own time limit: a check that hangs fails under its own name (pytest-timeout), its
# programs are killed, and the next check runs. Generous: a passing check takes seconds; the
# `slow` ones (a build of a repository copy) get SLOW_CHECK_SECONDS.
CHECK_SECONDS = scaled(180)
SLOW_CHECK_SECONDS = scaled(900)

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def become_subreaper():
    """prctl(PR_SET_CHILD_SUBREAPER): a process whose parent dies is re-parented to us, not to
    PID 1, so that nothing a test started can slip away (a `setsid` double fork included)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise pytest.UsageError(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError("socketlab's checks need pytest-timeout (a check that hangs must fail under its "
                                "own name): install Debian's package python3-pytest-timeout")
    become_subreaper()
    config.addinivalue_line("markers", "slow: builds a temporary copy of the repository (test_lab.py); "
                                       "-m 'not slow' leaves it out")
    config.addinivalue_line("markers", "torture: load, signal, EINTR and hostile-peer tests, after a lesson's "
                                       "claims in each file; CTest labels them `torture` "
                                       "(ctest -L torture, or -LE torture for the claims alone)")


def pytest_collection_modifyitems(items):
    """Every check gets its time limit, unless it names its own (@pytest.mark.timeout)."""
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_CHECK_SECONDS if item.get_closest_marker("slow")
                                                else CHECK_SECONDS))


def descendants():
    """{pid: command line} of every live process below this one (zombies left out). As a
    subreaper we are the ancestor of every process a test started, orphans included."""
    parent_of, command_of = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # it ended while we looked
        if fields[0] != "Z":
            parent_of[int(pid)], command_of[int(pid)] = int(fields[1]), command
    ours, me = {}, os.getpid()
    for pid in parent_of:
        ancestor = parent_of[pid]
        while ancestor not in (me, 0, 1) and ancestor in parent_of:
            ancestor = parent_of[ancestor]
        if ancestor == me:
            ours[pid] = command_of[pid]
    return ours


def kill_descendants():
    """SIGKILL every process below this one, process group and all, until none is left (an
    orphan re-parented to us while we work is found on the next round); reap the ones that are
    our children. Returns {pid: command line} of what it killed."""
    killed = {}
    for _ in range(50):
        found = descendants()
        if not found:
            break
        killed.update(found)
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                group = os.getpgid(pid)
                if group != os.getpgrp():  # never our own group: that would be this pytest too
                    os.killpg(group, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in found:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)  # ours since it was orphaned, or a child a test never waited for
        time.sleep(0.01)
    return killed


@pytest.fixture(autouse=True)
def nothing_outlives_the_check(request):
    """After each check, and after its fixtures have stopped what they started: whatever is
    still alive below us is killed, and the check's report says what it was."""
    yield
    killed = kill_descendants()
    if killed:
        request.node.user_properties.append(("killed_after_check", "; ".join(killed.values())))


def pytest_sessionfinish(session):
    """The run fails, naming them, if any process of ours is alive at its end."""
    survivors = kill_descendants()
    if survivors:
        names = "\n".join(f"  {pid}: {command}" for pid, command in survivors.items())
        session.config.get_terminal_writer().line(f"socketlab: processes still running at the end of the run "
                                                  f"(now killed):\n{names}", red=True)
        session.exitstatus = 1


def _seed():
    """SOCKETLAB_SEED, or a fresh random seed: one per test run, for the tests that pick a
    random moment (a SIGKILL mid-transfer). The report header prints it; rerun with
    SOCKETLAB_SEED=<seed> to draw the same moments again."""
    text = os.environ.get("SOCKETLAB_SEED")
    if text is None:
        return random.SystemRandom().randrange(10**9)
    if not text.isdigit():
        raise pytest.UsageError(f"SOCKETLAB_SEED={text!r}: give a non-negative whole number")
    return int(text)


SEED = _seed()


def pytest_report_header(config):
    return f"socketlab: SOCKETLAB_SEED={SEED} (random moments reproduce with this seed)"


@pytest.fixture
def seeded_rng(request):
    """seeded_rng: a random.Random from the run's seed (SOCKETLAB_SEED) and the test's name, so
    each test draws its own moments and a failure reproduces with SOCKETLAB_SEED=<seed>, which a
    failing test's report names."""
    return random.Random(f"{SEED}:{request.node.nodeid}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that drew from seeded_rng names the seed in its report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "seeded_rng" in getattr(item, "fixturenames", ()):
        report.sections.append(("socketlab seed", f"SOCKETLAB_SEED={SEED} reproduces this test's random moments"))


# Bounded waits. Generous: a passing test never waits this long, only a broken one does.
WAIT_SECONDS = scaled(20.0)


def wait_until(condition, what, timeout=WAIT_SECONDS):
    """Bounded poll of something only the kernel can tell us (/proc, a socket's queue)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting until {what}")
        time.sleep(0.01)


def processes_running(*argv):
    """Pids of the live processes (zombies left out) whose command line is exactly `argv`, e.g.
    ("sleep", "301.417"): a command a test started, found again wherever it went (setsid, PID 1)."""
    wanted = b"".join(arg.encode() + b"\0" for arg in argv)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline, open(f"/proc/{pid}/stat") as stat:
                if cmdline.read() == wanted and stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(pid))
        except OSError:
            pass  # it ended while we looked
    return found


@pytest.fixture
def unique_sleep():
    """unique_sleep() -> a long `sleep` argument no one else uses ("3417.281"), so that a test
    finds its own sleeps again (processes_running("sleep", seconds)). Whatever is left of them
    when the test ends, pass or fail, is killed."""
    made = []

    def make():
        made.append(f"{random.randrange(3000, 9000)}.{random.randrange(1000):03d}")
        return made[-1]
    yield make
    for seconds in made:
        for pid in processes_running("sleep", seconds):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def ignores_signal(pid, signum):
    """Whether the process ignores the signal (/proc/PID/status SigIgn): a job a shell starts in
    the background inherits SIGINT ignored, and a test about SIGINT must know."""
    with open(f"/proc/{pid}/status") as status:
        ignored = int(next(line for line in status if line.startswith("SigIgn:")).split()[1], 16)
    return bool(ignored >> (signum - 1) & 1)


def escaping_command(fifo, a, b, c):
    """A shell command whose descendants leave its process group for sessions of their own
    (setsid) before it ends: `sleep a`, and `sleep c` with its child `sleep b`. Each escapee
    says so through the named pipe `fifo` once it is out, and the shell waits for that, so the
    escape has happened (no race) when it prints `started` and exits."""
    return (f"mkfifo {fifo}; "
            f"setsid sh -c 'echo > {fifo}; exec sleep {a}' & read x < {fifo}; "
            f"setsid sh -c 'sleep {b} & echo > {fifo}; exec sleep {c}' & read x < {fifo}; "
            f"echo started")


def cpu_seconds(pid):
    """CPU time a process has used so far, user + system (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def out_of_descriptors(server, connections=20):
    """The server may open no descriptor more than it holds now (prlimit RLIMIT_NOFILE), and
    `connections` clients wait in its listen queue: every accept() fails with EMFILE. On leaving,
    the clients hang up and the limit is restored, so the server can accept again."""
    pid = server.popen.pid
    before = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    waiting = []
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (server.fd_count(), before[1]))
        # An accept() already waiting took its descriptor before the limit fell (the kernel
        # reserves it before it waits), so one more client gets in: one that hangs up at once.
        socket.create_connection((server.host, server.port), timeout=WAIT_SECONDS).close()
        for _ in range(connections):  # non-blocking: beyond the backlog, connect() would wait
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex((server.host, server.port))
            waiting.append(sock)
        yield
    finally:
        for sock in waiting:
            sock.close()
        if server.popen.poll() is None:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, before)


def accept_loop_cost(server, window=2.0):
    """Inside out_of_descriptors: once the server has said that accept() fails, what its accept
    loop costs over `window` seconds: (share of one CPU, bytes of stderr so far in all)."""
    server.wait_for(r"accept: Too many open files", stream="stderr")
    pid = server.popen.pid
    used = cpu_seconds(pid)
    time.sleep(window)  # the measurement window itself; nothing is waited for
    return (cpu_seconds(pid) - used) / window, len(server.stderr.encode())


class ShellResult(collections.namedtuple("ShellResult", "stdout stderr status")):
    @property
    def output(self):
        """stdout then stderr, as one body: what lesson 04 and 06's ack/fixed schemes send back."""
        return self.stdout + self.stderr


def sh(command):
    """Run `command` here exactly as the remote-command servers (04, 06) run it: /bin/sh -c, stdin
    /dev/null. Returns ShellResult(stdout bytes, stderr bytes, exit status), and .output."""
    done = subprocess.run(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=scaled(60))
    return ShellResult(done.stdout, done.stderr, done.returncode)


def reset(sock):
    """Abort the connection: SO_LINGER with a zero timeout makes close() send RST, not FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def recv_exact(sock, size):
    """Exactly `size` bytes: one recv() may return fewer, so loop; ConnectionError if the peer
    closes first."""
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def program(lesson, name):
    path = BUILD_DIR / lesson / name
    if not path.exists():
        pytest.fail(f"{path} is not built; run: cmake --workflow --preset test")
    return str(path)


# lab.start(..., stdin=KEEP_OPEN): the program's stdin is a pipe the test writes to when it
# likes (process.write(b"line\n")) and closes when it likes (process.close_stdin()).
KEEP_OPEN = object()


class Process:
    """A running program whose stdout and stderr are collected line by line, and as raw bytes.

    stdin_bytes: fed to it, then end of input; stdin_fd: a descriptor it reads instead (a
    terminal); keep_stdin_open: a pipe the test writes to (write, close_stdin); none of them:
    /dev/null. head=N: after N lines of stdout the reader goes away, as `program | head -N` does,
    and the program's next write to stdout meets EPIPE. stop_reading_after=N: after N lines the
    reader stops reading but keeps the pipe open, so the pipe fills and the program blocks in
    write() (a reader that is merely slow). bytes_only: keep no stdout lines, only stdout_bytes
    (for outputs of many megabytes, which as lines cost time and memory)."""

    def __init__(self, argv, stdin_bytes=None, cwd=None, env=None, stdin_fd=None, keep_stdin_open=False,
                 head=None, stop_reading_after=None, bytes_only=False):
        self.argv = argv
        self._keep_stdin_open = keep_stdin_open
        if stdin_fd is not None:
            stdin = stdin_fd
        elif stdin_bytes is not None or keep_stdin_open:
            stdin = subprocess.PIPE
        else:
            stdin = subprocess.DEVNULL
        # process_group=0: its own group, so that stop() kills it with every child it started
        self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, process_group=0,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout_lines = []
        self.stderr_lines = []
        self.stdout_bytes = bytearray()  # everything it wrote, byte for byte (lines lose "\n" at the end)
        self.stderr_bytes = bytearray()
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._collect, daemon=True,
                             args=(self.popen.stdout, self.stdout_lines, self.stdout_bytes, head, stop_reading_after,
                                   bytes_only)),
            threading.Thread(target=self._collect, daemon=True,
                             args=(self.popen.stderr, self.stderr_lines, self.stderr_bytes, None, None, False)),
        ]
        for reader in self._readers:
            reader.start()
        if stdin_bytes is not None:
            threading.Thread(target=self._feed, args=(stdin_bytes,), daemon=True).start()

    def _feed(self, data):
        try:
            self.popen.stdin.write(data)
            self.popen.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the program exited without reading all of its input

    def write(self, data):
        """With keep_stdin_open: more input for the program, now."""
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def close_stdin(self):
        self.popen.stdin.close()

    def _collect(self, stream, lines, raw_bytes, head, stop_reading_after, bytes_only):
        limit = head or stop_reading_after
        while limit is None or len(lines) < limit:
            if bytes_only:
                chunk = stream.read1(1 << 20)
                if not chunk:
                    break
                raw_bytes += chunk
                continue
            raw = stream.readline()
            if not raw:
                break
            with self._changed:
                raw_bytes += raw
                lines.append(raw.decode("utf-8", errors="backslashreplace").rstrip("\n"))
                self._changed.notify_all()
        if stop_reading_after is None:
            stream.close()  # at the end, or after `head` lines: the reader is gone
        with self._changed:
            self._changed.notify_all()

    @property
    def stdout(self):
        return "\n".join(self.stdout_lines)

    @property
    def stderr(self):
        return "\n".join(self.stderr_lines)

    @property
    def returncode(self):
        return self.popen.returncode

    def wait_for(self, pattern, timeout=WAIT_SECONDS, stream="stdout"):
        """Wait until a line of `stream` matches `pattern`; return (line index, match)."""
        regex = re.compile(pattern)
        lines = self.stdout_lines if stream == "stdout" else self.stderr_lines
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, line in enumerate(lines):
                    match = regex.search(line)
                    if match:
                        return index, match
                remaining = deadline - time.monotonic()
                finished = self.popen.poll() is not None and not any(r.is_alive() for r in self._readers)
                if remaining <= 0 or finished:
                    pytest.fail(f"{Path(self.argv[0]).name}: no {stream} line matched {pattern!r} "
                                f"within {timeout} s\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}")
                self._changed.wait(min(remaining, 0.2))

    def wait(self, timeout=WAIT_SECONDS):
        """Wait for the program to exit by itself and for all of its output."""
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"{Path(self.argv[0]).name} did not exit within {timeout} s\n"
                        f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")
        for reader in self._readers:
            reader.join(timeout)
        return self

    def fd_count(self):
        """How many descriptors the program holds now: a leak shows as a count that never falls back."""
        return len(os.listdir(f"/proc/{self.popen.pid}/fd"))

    def thread_count(self):
        return len(os.listdir(f"/proc/{self.popen.pid}/task"))

    def stopped(self):
        """Has every thread of the program stopped (state T, after SIGSTOP)? kill() returns
        before that, and a thread still running may yet take bytes a test wants queued."""
        task_dir = f"/proc/{self.popen.pid}/task"
        states = []
        for task in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{task}/stat") as stat:
                    states.append(stat.read().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:
                pass  # a thread that ended meanwhile
        return bool(states) and all(state in ("T", "t") for state in states)

    def signal(self, signum):
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    def stop(self):
        """SIGTERM, then SIGKILL if it will not go; then SIGKILL to whatever is left of its
        process group. Always reaps, and reads its output to the end."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # its children, e.g. `sh -c` and what sh started
        for reader in self._readers:
            reader.join(5)
        if self._keep_stdin_open:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()
        if not self._readers[0].is_alive():  # stop_reading_after left it open
            self.popen.stdout.close()
        return self


class Server(Process):
    """A server that has printed its ready line; .host and .port are what it really bound."""

    def __init__(self, argv, cwd=None, env=None, head=None, ready_timeout=WAIT_SECONDS):
        super().__init__(argv, cwd=cwd, env=env, head=head)
        try:
            ready = self._ready_line(ready_timeout)
        except BaseException:  # no ready line, or the check was interrupted: it goes now
            self.stop()
            raise
        self.host = ready.group("host")
        self.port = int(ready.group("port"))

    def _ready_line(self, timeout):
        expected = ("expected its first line on stdout to be `listening on HOST:PORT` (the port it really "
                    "bound), flushed at once (C++: fflush(stdout); Python: print(..., flush=True))")
        name = Path(self.argv[0]).name
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.stdout_lines:
                finished = self.popen.poll() is not None and not any(r.is_alive() for r in self._readers)
                if finished or time.monotonic() > deadline:
                    why = (f"exited with status {self.popen.returncode}" if finished
                           else f"printed no line within {timeout:g} s")
                    pytest.fail(f"{name} {why}: {expected}\nstderr:\n{self.stderr}")
                self._changed.wait(0.2)
        ready = READY_LINE.match(self.stdout_lines[0])
        if not ready:
            pytest.fail(f"{name}: first line {self.stdout_lines[0]!r}: {expected}")
        return ready


@contextlib.contextmanager
def log_reader_gone(lesson, *args):
    """`server 127.0.0.1 0 | head -1`: the server prints its ready line, then the reader of its
    stdout is gone (as when head exits), so its next log line meets EPIPE. Yields (Popen, port);
    kills and reaps it afterwards, and fails the test on a sanitizer report in its stderr."""
    server = Server([program(lesson, "server"), "127.0.0.1", "0", *args], head=1)
    try:
        yield server.popen, server.port
    finally:
        server.popen.kill()
        server.stop()
    assert not any(marker in server.stderr for marker in SANITIZER_REPORTS), server.stderr


class LabProcesses:
    def __init__(self):
        self.started = []

    def start(self, lesson, name, *args, stdin=None, cwd=None, env=None, stop_reading_after=None, prefix=(),
              bytes_only=False):
        """Start a program and return at once. stdin: bytes or str to feed it, then EOF; a
        descriptor to read from (a terminal); KEEP_OPEN (the test writes: process.write).
        stop_reading_after=N, bytes_only: see Process. prefix: a command that runs the program,
        e.g. ["prlimit", "--fsize=1000"]."""
        if isinstance(stdin, str):
            stdin = stdin.encode()
        process = Process([*prefix, program(lesson, name), *args], cwd=cwd, env=env,
                          stdin_bytes=stdin if isinstance(stdin, bytes) else None,
                          stdin_fd=stdin if isinstance(stdin, int) else None,
                          keep_stdin_open=stdin is KEEP_OPEN, stop_reading_after=stop_reading_after,
                          bytes_only=bytes_only)
        self.started.append(process)
        return process

    def server(self, lesson, name="server", *args, cwd=None, env=None, head=None, prefix=()):
        """Start a server (default arguments: 127.0.0.1 0) and wait for its ready line.
        head=1: nobody reads its stdout after that line (`server | head -1`); prefix: as start()."""
        argv = [*prefix, program(lesson, name), *(args or ("127.0.0.1", "0"))]
        server = Server(argv, cwd=cwd, env=env, head=head)
        self.started.append(server)
        return server

    def run(self, lesson, name, *args, stdin=None, cwd=None, env=None, timeout=WAIT_SECONDS, prefix=(),
            bytes_only=False):
        """Run a program to completion and return it (returncode, stdout, stderr, stdout_bytes...)."""
        return self.start(lesson, name, *args, stdin=stdin, cwd=cwd, env=env, prefix=prefix,
                          bytes_only=bytes_only).wait(timeout)

    def expect_usage_error(self, lesson, name, *args, cwd=None):
        """Every program's convention for a bad command line: `name: problem`, then
        `usage: name ...` on stderr, nothing on stdout, exit status 2."""
        result = self.run(lesson, name, *args, cwd=cwd)
        context = (name, args, result.stderr)
        assert result.returncode == 2, context
        assert result.stderr_lines[0].startswith(f"{name}: "), context
        assert result.stderr_lines[1].startswith(f"usage: {name} "), context
        assert result.stdout == "", context
        return result

    def expect_help(self, lesson, name, flag="--help", cwd=None):
        """`--help` (or `-h`): the usage on stdout, nothing on stderr, exit status 0."""
        result = self.run(lesson, name, flag, cwd=cwd)
        context = (name, flag, result.stderr)
        assert result.returncode == 0, context
        assert result.stdout.startswith(f"usage: {name} "), context
        assert result.stderr == "", context
        return result

    def finish(self):
        for process in self.started:
            process.stop()
        reports = [f"{Path(p.argv[0]).name}:\n{p.stderr}" for p in self.started
                   if any(marker in p.stderr for marker in SANITIZER_REPORTS)]
        if reports:
            pytest.fail("sanitizer report(s):\n" + "\n".join(reports))


@pytest.fixture
def lab():
    processes = LabProcesses()
    yield processes
    processes.finish()


# harness/eintr_shim.c, preloaded into a program, fails every other socket call with EINTR
# and says so once on stderr with this line (a test asserts it: no vacuous pass).
EINTR_SHIM_SOURCE = Path(__file__).resolve().parent / "eintr_shim.c"
EINTR_ANNOUNCEMENT = "eintr-shim: interrupting every other accept/recv/send/poll call"


@pytest.fixture(scope="session")
def eintr_shim(tmp_path_factory):
    """harness/eintr_shim.c compiled once per test session; the path of the .so."""
    shim = tmp_path_factory.mktemp("eintr") / "eintr_shim.so"
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.fail(f"no C compiler (cc) to build {EINTR_SHIM_SOURCE}")
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-o", str(shim),
                    str(EINTR_SHIM_SOURCE), "-ldl"], check=True)
    return str(shim)


def linked_libraries(program_path):
    """The shared libraries a program links, as `ldd` lists them (a sanitizer runtime among them)."""
    listing = subprocess.run(["ldd", program_path], capture_output=True, text=True, check=True).stdout
    return [line.split("=>")[1].split()[0] for line in listing.splitlines() if "=>" in line]


@pytest.fixture
def eintr_env(eintr_shim):
    """eintr_env(program_path) -> an environment that preloads the EINTR shim into that program.

    A sanitizer runtime the program links (asan, tsan presets) must be the first library
    loaded, so it goes first in LD_PRELOAD and the shim after it."""
    def environment(program_path):
        runtimes = [library for library in linked_libraries(program_path)
                    if "libasan" in library or "libtsan" in library]
        return dict(os.environ, LD_PRELOAD=":".join([*runtimes, eintr_shim]))
    return environment


# =============================================================================================
# The program under test: ours, or anyone's (`lab.py check`, issue 19).
#
# A promise is a test that asserts only what goes over the wire (bytes, order, who closes),
# never our command line, log wording or build. It names its tier and says what it checks:
#
#     @pytest.mark.promise("tutorial", ("a short message comes back upper-cased", "短消息大写后返回"),
#                          hint=("what the classic mistake is", "中文提示"))
#     def test_a_short_message_comes_back_upper_cased(subject):
#         server = subject.server(LESSON)          # .host, .port, .stop()
#
# tutorial: what the tutorial's program does; socketlab: what the lesson adds. side="client" for
# a promise about the client (subject.client(LESSON, port, stdin=...)).
#
# By default `subject` is the lesson's own program (started as lab.server starts it, ready
# line and all), so ctest runs every promise against our programs. With --subject-server 'CMD'
# or --subject-client 'CMD' (what lab.py check passes) it is that command instead: {host} and
# {port} replaced (appended when neither appears), split like a shell's words, no shell. Then
# only promises run, and each prints one line: PASS/FAIL/SKIP, tier, promise; for a failure, why
# and the hint.

PROMISE_TIERS = ("tutorial", "socketlab")
LISTEN_SECONDS = 10  # how long a student's server may take before it listens


def command_argv(command, host, port):
    """A student's command line as argv: shell words, {host}/{port} replaced in each word
    (appended as two arguments when neither appears): the tutorial's ip_port, nothing else."""
    words = shlex.split(command)
    if not any("{host}" in word or "{port}" in word for word in words):
        words += ["{host}", "{port}"]
    return [word.replace("{host}", host).replace("{port}", str(port)) for word in words]


def free_port(udp=False):
    """A TCP (or UDP) port on 127.0.0.1 that nothing uses now (bound, never used, closed at once)."""
    with socket.socket(type=socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_on(port, udp=False):
    """Is a socket listening on `port` (127.0.0.1 or any address), or for UDP bound to it? Read
    from /proc/net/{tcp,udp}{,6} rather than by connecting or sending: that would be the one
    client a one-shot server serves."""
    kind, ready = ("udp", "07") if udp else ("tcp", "0A")  # 07: an unconnected UDP socket; 0A: LISTEN
    for table in (f"/proc/net/{kind}", f"/proc/net/{kind}6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == ready and int(local.rsplit(":", 1)[1], 16) == port:
                    return True
    return False


class StudentServer(Process):
    """A student's server on a port the checker chose: ready once the port is listening."""

    def __init__(self, command, cwd, port=None, udp=False):
        self.host, self.port = "127.0.0.1", port or free_port(udp)
        super().__init__(command_argv(command, self.host, self.port), cwd=cwd)
        try:  # whatever ends the wait (a failure, Ctrl-C), the program is not left behind
            self._wait_until_listening(udp)
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self, udp):
        deadline = time.monotonic() + scaled(LISTEN_SECONDS)
        while not listening_on(self.port, udp):
            if self.popen.poll() is not None:
                self.stop()  # reads its output to the end: its last words
                said = self.stderr_lines[-1] if self.stderr_lines else "nothing on stderr"
                pytest.fail(f"the server ended (exit status {self.returncode}) before it listened on "
                            f"127.0.0.1:{self.port}; its last words: {said}")
            if time.monotonic() > deadline:
                pytest.fail(f"nothing listened on 127.0.0.1:{self.port} within {scaled(LISTEN_SECONDS):g} s")
            time.sleep(0.01)


# A student's server that did not start: the first promise says why, the others say so at once.
START_FAILURES = ("nothing listened on", "the server ended", "the server did not start")
START_HINT = ("a server takes the host and port it is given as its two arguments (sys.argv[1], sys.argv[2]), "
              "binds them and listens", "服务端应绑定并监听作为两个参数传给它的主机和端口（sys.argv[1]、sys.argv[2]）")
IN_USE_HINT = ("SO_REUSEADDR missing: set it before bind(), or the port stays taken while an old connection "
               "lingers in TIME_WAIT", "缺少 SO_REUSEADDR：在 bind() 之前设置它，否则旧连接停在 TIME_WAIT 时端口一直被占用")


class Subject:
    """The program a promise checks: the lesson's own, or the student's (--subject-server,
    --subject-client). Whatever it starts is stopped when the test ends (lab.finish)."""

    def __init__(self, config, lab, cwd):
        self.server_command = config.getoption("subject_server")
        self.client_command = config.getoption("subject_client")
        self.scheme = config.getoption("subject_scheme")
        self.config, self.lab, self.cwd = config, lab, cwd

    @property
    def ours(self):
        return self.server_command is None and self.client_command is None

    def server(self, lesson, name="server", *args, port=None, udp=False):
        """Start the server under test on 127.0.0.1 (on `port`, or a free one); our own with
        `args` (default 127.0.0.1 0/port), a student's with host and port only (udp: it is
        ready when a UDP socket is bound to the port)."""
        if self.server_command is None:
            return self.lab.server(lesson, name, *(args or ("127.0.0.1", str(port or 0))))
        if getattr(self.config, "socketlab_not_started", None):
            pytest.fail(f"the server did not start ({self.config.socketlab_not_started})")
        try:
            server = StudentServer(self.server_command, self.cwd, port, udp)
        except pytest.fail.Exception as failure:
            if port is None:  # on a port of its own choosing; a restart's failure is that promise's own
                self.config.socketlab_not_started = str(failure)
            raise
        self.lab.started.append(server)
        return server

    def client(self, lesson, port, *our_args, stdin=None):
        """Start the client under test against 127.0.0.1:port; `our_args` go only to ours.
        stdin: bytes fed to it, then end of input (none: /dev/null)."""
        if self.client_command is None:
            return self.lab.start(lesson, "client", "127.0.0.1", str(port), *our_args, stdin=stdin)
        client = Process(command_argv(self.client_command, "127.0.0.1", port), cwd=self.cwd, stdin_bytes=stdin)
        self.lab.started.append(client)
        return client


@pytest.fixture
def subject(request, lab, tmp_path):
    return Subject(request.config, lab, tmp_path)


def promise_of(item):
    """(tier, (en, zh) promise, (en, zh) hint or None, side) of a promise test, or None."""
    marker = item.get_closest_marker("promise")
    if marker is None:
        return None
    tier, text = marker.args
    assert tier in PROMISE_TIERS, f"{item.nodeid}: promise tier {tier!r} is not one of {PROMISE_TIERS}"
    pair = (lambda value: None if value is None else (value, value) if isinstance(value, str) else tuple(value))
    return tier, pair(text), pair(marker.kwargs.get("hint")), marker.kwargs.get("side", "server")


def failure_reason(report):
    """One line of why, from a failed report: the assertion's or pytest.fail's message."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    for prefix in ("AssertionError: ", "Failed: ", "Skipped: "):
        text = text.removeprefix(prefix)
    return text.strip().splitlines()[0] if text.strip() else "(no message)"


class PromiseReport:
    """Active under --subject-server/--subject-client: only promises run (one per test function,
    the first of its parameters), of the side(s) given; one line per promise; the outcomes in
    --subject-results FILE (JSON) for lab.py's exit status and grade tables."""

    WORDS = {"en": {"why": "why: ", "hint": "hint: "}, "zh": {"why": "原因：", "hint": "提示："}}

    def __init__(self):
        self.active = False
        self.promises = {}  # nodeid -> promise_of(item)
        self.outcomes = {}  # nodeid -> (PASS|FAIL|SKIP, why)

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "promise(tier, text, hint=None, side='server'): a check of the wire "
                                           "only, which lab.py check also runs against a student's program")
        self.config = config
        self.active = bool(config.getoption("subject_server") or config.getoption("subject_client"))
        self.language = config.getoption("subject_lang")

    def pytest_collection_modifyitems(self, config, items):
        if not self.active:
            return
        sides = {side for side, option in (("server", "subject_server"), ("client", "subject_client"))
                 if config.getoption(option)}
        scheme = config.getoption("subject_scheme")
        kept, deselected, seen = [], [], set()
        for item in items:
            promise = promise_of(item)
            function = (item.module.__name__, getattr(item, "originalname", item.name))
            params = getattr(getattr(item, "callspec", None), "params", {})
            other_scheme = scheme is not None and params.get("scheme", scheme) != scheme  # 06: the one given
            if promise is None or promise[3] not in sides or function in seen or other_scheme:
                deselected.append(item)
                continue
            seen.add(function)
            self.promises[item.nodeid] = promise
            kept.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = kept

    def pytest_runtest_logreport(self, report):
        if not self.active or report.nodeid not in self.promises:
            return
        if report.skipped and report.nodeid not in self.outcomes:
            self.outcomes[report.nodeid] = ("SKIP", str(report.longrepr[2]).removeprefix("Skipped: "))
        elif report.failed and self.outcomes.get(report.nodeid, ("PASS",))[0] == "PASS":
            self.outcomes[report.nodeid] = ("FAIL", failure_reason(report))
        elif report.when == "call" and report.passed:
            self.outcomes.setdefault(report.nodeid, ("PASS", ""))

    def pytest_report_teststatus(self, report, config):
        if self.active and report.nodeid in self.promises:  # no progress letters: the promise lines say it
            return report.outcome, "", ""
        return None

    def pytest_runtest_logfinish(self, nodeid, location):
        if not self.active or nodeid not in self.promises:
            return
        tier, text, hint, _ = self.promises[nodeid]
        verdict, why = self.outcomes.setdefault(nodeid, ("FAIL", "the check did not finish"))
        half = 1 if self.language == "zh" else 0
        words = self.WORDS[self.language]
        lines = [f"{verdict} {tier:9} {text[half]}"]
        if verdict != "PASS" and why:
            lines.append(f"     {words['why']}{why}")
        if verdict == "FAIL" and why.startswith(START_FAILURES):
            hint = IN_USE_HINT if "Address already in use" in why else START_HINT
        if verdict == "FAIL" and hint:
            lines.append(f"     {words['hint']}{hint[half]}")
        print("\n".join(lines), flush=True)

    def pytest_sessionfinish(self, session):
        path = self.config.getoption("subject_results")
        if not self.active or not path:
            return
        results = [dict(test=nodeid, tier=tier, promise=text[0], promise_zh=text[1], side=side,
                        outcome=self.outcomes.get(nodeid, ("FAIL", "the check did not run"))[0],
                        why=self.outcomes.get(nodeid, ("", ""))[1])
                   for nodeid, (tier, text, _, side) in self.promises.items()]
        Path(path).write_text(json.dumps(results, ensure_ascii=False, indent=1))


def pytest_addoption(parser, pluginmanager):
    group = parser.getgroup("socketlab check", "a student's program under the lesson's promises (lab.py check)")
    group.addoption("--subject-server", metavar="CMD", help="check this server command ({host} {port})")
    group.addoption("--subject-client", metavar="CMD", help="check this client command ({host} {port})")
    group.addoption("--subject-scheme", choices=("ack", "fixed", "json"), default=None,
                    help="lesson 06: the framing scheme the student's program speaks")
    group.addoption("--subject-lang", choices=("en", "zh"), default="en", help="language of the promise lines")
    group.addoption("--subject-results", metavar="FILE", help="write the promises' outcomes to FILE (JSON)")
    pluginmanager.register(PromiseReport(), "socketlab-promises")
