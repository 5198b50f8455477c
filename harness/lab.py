#!/usr/bin/env python3
"""The student's front door to socketlab (standard library only).

    python3 harness/lab.py                 this help and the list of lessons
    python3 harness/lab.py list            one line per lesson
    python3 harness/lab.py --lang zh list  the same in Chinese (the default when LC_ALL or
                                           LANG starts with "zh", e.g. LANG=zh_CN.UTF-8)
    python3 harness/lab.py run 01          build lesson 01's programs (only those), then run its
                                           demo: start its server on a free port, run its client,
                                           print both transcripts, stop the server
    python3 harness/lab.py run 03 threaded_server   the same with another of the lesson's servers
    python3 harness/lab.py run 06 --scheme ack      the same with another framing scheme
    python3 harness/lab.py check 01 --server 'python3 my_server.py'
                                           run lesson 01's promises against your own server
                                           (lab.py check --help says how)
    python3 harness/lab.py grade 03 SUBMISSIONS/    check every student's folder at once

Every command in a transcript can be pasted into a shell at the top of the repository. The
build folder is build/ (the CMake preset `default`); lab.py configures it by itself when it is
missing, half-made (an earlier configure failed) or made for another copy of the repository.
"""

import argparse
import concurrent.futures
import csv
import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
READY_LINE = re.compile(r"^listening on (?P<host>\S+):(?P<port>\d+)(?: \((?:tcp|udp)\))?$")
# How long lab.py waits for a server's first line and for one client run: generous, only a
# broken program ever takes this long, and then lab.py says so instead of hanging.
WAIT_SECONDS = 60

# For each lesson: what it shows, the tutorial section, and its demo. In argument
# lists "{port}" becomes the port the server really bound and "{tmp}" a fresh
# temporary folder; "{silent_udp_port}" a UDP port that receives but never answers
# (a lost reply); each client run is (program, arguments, standard input). A lesson
# with several experiments lists them under "demos", each a dict(title, server, clients).
# "summary" and "title" are (English, 中文) pairs: lab.py shows the one of the reader's language.
# "files" (optional) are written into {tmp} before the server starts: {name: text}.
# "prompt" (optional): the client's prompt when a person types; lab.py then types each
# line of the client's input at that prompt (through a terminal), so the transcript shows
# every command next to its reply, as on a student's screen.
LESSONS = {
    "01_tcp_basic": dict(
        summary=("TCP client/server: one message, upper-cased reply (tutorial 000 §二.1)",
                 "TCP 客户端/服务端：发一条消息，收到大写的回复（教程 000 §二.1）"),
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}", "hello socket"], None)],
    ),
    "02_udp_basic": dict(
        summary=("UDP datagrams: boundaries kept, empty datagram, reply timeout (tutorial 000 §二.2)",
                 "UDP 数据报：消息边界保留、空数据报、等回复超时（教程 000 §二.2）"),
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}", "hello socket"], None),
                 ("client", ["127.0.0.1", "{port}", "hello", "world", ""], None),
                 ("client", ["--timeout", "1", "127.0.0.1", "{silent_udp_port}"], None)],
    ),
    "03_loop_server": dict(
        summary=("link loop + communication loop: clients one after another, 'exit' (tutorial 001, 004)",
                 "链接循环 + 通信循环：客户端一个接一个，'exit' 结束会话（教程 001、004）"),
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}"], "hello\n\nsocket lab\nexit\n"),
                 ("client", ["127.0.0.1", "{port}"], "second client, same server\n")],
        prompt="请输入发送的消息: ",
    ),
    "04_remote_cmd": dict(
        summary=("remote shell, one recv(1024) per command: replies get mixed up (tutorial 000 §三)",
                 "远程执行命令，每条命令一次 recv(1024)：回复会错位（教程 000 §三）"),
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}"], "seq -s ' ' 1 400\necho hi\necho bye\n"),
                 ("client", ["127.0.0.1", "{port}", "--wait", "1"], "true\necho after true\n")],
    ),
    "05_sticky_packet_demo": dict(
        summary=("sticky packets: hello+magic glued / split, on demand; UDP never glues (tutorial 002 §4.1)",
                 "粘包：hello+magic 粘在一起 / 被拆开，随时复现；UDP 从不粘包（教程 002 §4.1）"),
        demos=[dict(title=title,
                    server=("server", ["127.0.0.1", "0", "--case", case]),
                    clients=[("client", ["127.0.0.1", "{port}", "--case", case], None)])
               for case, title in [
                   ("send-side", ("情况一 发送方的缓存机制: two sends, ONE recv(10) gets both",
                                  "情况一 发送方的缓存机制：两次 send，一次 recv(10) 就全收到")),
                   ("receive-side", ("情况二 接收方的缓存机制: recv(2) gets 'he', recv(10) the rest",
                                     "情况二 接收方的缓存机制：recv(2) 收到 'he'，recv(10) 收到其余")),
                   ("nodelay", ("control: TCP_NODELAY, no waiting - where the split falls is up to timing",
                                "对照实验：TCP_NODELAY，不等待——在哪里拆开由时机决定")),
                   ("udp", ("contrast: UDP, two sendto -> two recvfrom, never glued",
                            "对比：UDP，两次 sendto -> 两次 recvfrom，从不粘包"))]],
    ),
    "06_framed_fix": dict(
        summary=("remote shell with framed replies: ack / fixed '!I' / json header (tutorial 002 §4.2, 004)",
                 "带报头的远程执行命令：ack / 固定 '!I' 报头 / json 报头（教程 002 §4.2、004）"),
        server=("server", ["--scheme", "json", "127.0.0.1", "0"]),
        clients=[("client", ["--scheme", "json", "127.0.0.1", "{port}"],
                  "echo hello from the server\ntrue\nseq 1 100000\nls /no/such/dir\necho bye >&2; exit 3\n"),
                 ("client", ["--scheme", "json", "--bench", "2000", "127.0.0.1", "{port}"], None),
                 ("client", ["--scheme", "json", "--two-sends", "--bench", "20", "127.0.0.1", "{port}"], None)],
        prompt=">>: ",
        show_lines=16,  # seq 1 100000 prints 100000 lines: show its start and end
    ),
    "07_file_transfer": dict(
        summary=("upload a file: dict header, XXH3-128 check, atomic rename (tutorial 001 文件传输实例, 004 end)",
                 "上传文件：字典报头、XXH3-128 校验、原子重命名（教程 001 文件传输实例、004 结尾）"),
        files={"notes.txt": "first line\nquit\nthe tutorial's receiver would have stopped at 'quit'\n"},
        server=("server", ["--dir", "{tmp}/received", "127.0.0.1", "0"]),
        clients=[("client", ["{tmp}/notes.txt", "127.0.0.1", "{port}"], None),
                 ("client", ["{tmp}/notes.txt", "127.0.0.1", "{port}"], None)],
    ),
}

USAGE = """\
usage: python3 harness/lab.py [--lang en|zh] run LESSON [PROGRAM] [--scheme ack|fixed|json]
                                           build one lesson's programs and run its demo
       python3 harness/lab.py [--lang en|zh] list          list the lessons
       python3 harness/lab.py [--lang en|zh] check LESSON --server CMD [--client CMD] ...
                                           run the lesson's promises against your program
       python3 harness/lab.py [--lang en|zh] grade LESSON SUBMISSIONS
                                           check a class's programs, one folder each
LESSON is a number (01) or a folder name (01_tcp_basic); check --help and grade --help say more."""

USAGE_ZH = """\
用法：python3 harness/lab.py [--lang en|zh] run LESSON [PROGRAM] [--scheme ack|fixed|json]
                                          只编译这一课的程序，然后运行它的演示
      python3 harness/lab.py [--lang en|zh] list          列出所有课
      python3 harness/lab.py [--lang en|zh] check LESSON --server CMD [--client CMD] ...
                                          用这一课的约定检查你自己的程序
      python3 harness/lab.py [--lang en|zh] grade LESSON SUBMISSIONS
                                          检查全班的程序，每人一个文件夹
LESSON 可以是编号（01）或文件夹名（01_tcp_basic）；check --help 和 grade --help 有详细说明。"""

LANGUAGES = ("en", "zh")


def language_from_environment():
    """zh when the locale asks for Chinese (LC_ALL wins over LANG, as in every POSIX program)."""
    locale = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    return "zh" if locale.startswith("zh") else "en"


LANGUAGE = language_from_environment()  # main() replaces it with --lang when given


def in_language(pair):
    """The reader's half of an (English, 中文) pair."""
    return pair[LANGUAGES.index(LANGUAGE)]


def usage_text():
    return USAGE_ZH if LANGUAGE == "zh" else USAGE


class LabError(Exception):
    """Something a student can fix or report: lab.py prints it on one line, no traceback."""


def lesson_list():
    heading = "课程：" if LANGUAGE == "zh" else "lessons:"
    return heading + "\n" + "\n".join(f"  {lesson:24} {in_language(spec['summary'])}"
                                       for lesson, spec in LESSONS.items())


def usage_error(problem):
    print(f"lab.py: {problem}\n{usage_text()}\n\n{lesson_list()}", file=sys.stderr)
    sys.exit(2)


def find_lesson(name):
    matches = [lesson for lesson in LESSONS if lesson == name or lesson.startswith(name + "_")
               or lesson[:2] == name.zfill(2)]
    if len(matches) != 1:
        usage_error(f"no lesson called {name!r}")
    return matches[0]


def shown(path):
    """A path as a student types it at the top of the repository: ./build/01_tcp_basic/server."""
    path = Path(path)
    return f"./{path.relative_to(ROOT)}" if path.is_relative_to(ROOT) else str(path)


# --- building: configure when needed, then only this lesson's targets ---------------------

def cache_entries(cache):
    entries = {}
    for line in cache.read_text(errors="replace").splitlines():
        match = re.match(r"^([A-Za-z_][\w-]*):[A-Z]+=(.*)$", line)
        if match:
            entries[match.group(1)] = match.group(2)
    return entries


def why_configure():
    """Why build/ must be configured before it can build, or None when it is ready."""
    cache = BUILD_DIR / "CMakeCache.txt"
    if not cache.exists():
        return "build/ has not been configured yet"
    entries = cache_entries(cache)
    for key, expected in (("CMAKE_HOME_DIRECTORY", ROOT), ("CMAKE_CACHEFILE_DIR", BUILD_DIR)):
        recorded = entries.get(key)
        if recorded is None or Path(recorded).resolve() != expected.resolve():
            # CMake refuses a cache made for another folder; its advice is to delete it.
            cache.unlink()
            shutil.rmtree(BUILD_DIR / "CMakeFiles", ignore_errors=True)
            return f"build/ was configured for another copy of the repository ({recorded})"
    build_file = "build.ninja" if entries.get("CMAKE_GENERATOR") == "Ninja" else "Makefile"
    if not (BUILD_DIR / build_file).exists():
        return f"build/ is half-made (no {build_file}: an earlier configure failed or was stopped)"
    return None


def command(argv, what):
    """Run a build command with its output on the terminal; return (status, output lines)."""
    print(f"lab.py: {what}: {shlex.join(argv)}", flush=True)
    try:
        process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="backslashreplace")
    except FileNotFoundError:
        raise LabError(f"{argv[0]} is not installed; the README's Prerequisites section "
                       "has the one apt-get line that installs everything") from None
    lines = []
    with process:
        for line in process.stdout:  # CMake's own progress lines, as they come
            print(line, end="", flush=True)
            lines.append(line)
    return process.returncode, lines


def broken_files(lines):
    """The source files the compiler reported errors in, as paths from the repository's top."""
    files = []
    for line in lines:
        match = re.match(r"^(.+?):\d+:(?:\d+:)? (?:fatal )?error: ", line)
        if match:
            path = Path(match.group(1))
            name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
            if name not in files:
                files.append(name)
    return files


def build(lesson):
    reason = why_configure()
    if reason:
        print(f"lab.py: {reason}")
        status, _ = command(["cmake", "--preset", "default"], in_language(("configuring build/", "配置 build/")))
        if status != 0:
            raise LabError("configuring build/ failed; CMake's messages above say why. "
                           "Fix that and run lab.py again: it configures again by itself")
    # The target named after the lesson builds its programs (<lesson>_<name>) and nothing else.
    jobs = str(os.cpu_count() or 2)
    status, lines = command(["cmake", "--build", "build", "-j", jobs, "--target", lesson],
                            in_language((f"building {lesson}'s programs", f"编译 {lesson} 的程序")))
    if status != 0:
        files = broken_files(lines)
        where = (f"the compiler found errors in {', '.join(files)}" if files
                 else "the build's messages above say why")
        raise LabError(f"{lesson} did not build: {where}. The other lessons are not affected: "
                       "python3 harness/lab.py run NN still runs them")


# --- running a demo --------------------------------------------------------------------------

class Output:
    """Collects a program's output lines in a thread, so that every wait on it has a bound."""

    def __init__(self, stream):
        self.lines = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._collect, args=(stream,), daemon=True)
        self.thread.start()

    def _collect(self, stream):
        for line in stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def first_line(self, timeout):
        with self.changed:
            self.changed.wait_for(lambda: self.lines or not self.thread.is_alive(), timeout)
            return self.lines[0] if self.lines else None


def show(label, text, show_lines=None):
    lines = text.splitlines()
    if show_lines and len(lines) > show_lines:  # a long transcript: its first and last lines
        half = show_lines // 2
        more = in_language((f"... ({len(lines) - 2 * half} more lines) ...", f"……（另有 {len(lines) - 2 * half} 行）……"))
        lines = lines[:half] + [more] + lines[-half:]
    for line in lines:
        print(f"[{label}] {line}")


def run_client(argv, cwd, stdin):
    """Run a client to its end with `stdin` as its input; its stdout and stderr, in order."""
    try:
        client = subprocess.run(argv, cwd=cwd, input=stdin,
                                stdin=subprocess.DEVNULL if stdin is None else None,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # one pipe keeps the order
                                text=True, errors="backslashreplace", timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        raise LabError(f"{shown(argv[0])} did not finish within {WAIT_SECONDS} s; stopped it") from None
    return client.stdout, client.returncode


def type_at_prompt(argv, cwd, stdin, prompt, show_lines):
    """Run a client whose input is a terminal, and type each line of `stdin` when it shows
    `prompt`: the transcript shows every command before its reply, even a command with no
    output at all. After the last line, Ctrl-D (end of input) as a person would."""
    controller, terminal = pty.openpty()
    settings = termios.tcgetattr(terminal)
    settings[3] &= ~termios.ECHO  # the transcript shows the typed line itself, once
    termios.tcsetattr(terminal, termios.TCSANOW, settings)
    output, output_end = os.pipe()
    try:
        client = subprocess.Popen(argv, cwd=cwd, stdin=terminal, stdout=output_end, stderr=output_end)
    finally:
        os.close(terminal)
        os.close(output_end)
    deadline = time.monotonic() + WAIT_SECONDS
    received = b""
    prompt_bytes = prompt.encode()

    def until_prompt():  # show what the client prints before its next prompt; False once it has ended
        nonlocal received
        ended = False
        while not received.endswith(prompt_bytes):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                client.kill()
                raise LabError(f"{shown(argv[0])} did not finish within {WAIT_SECONDS} s; stopped it")
            if select.select([output], [], [], remaining)[0]:
                chunk = os.read(output, 65536)
                if not chunk:  # end of its output: the client has ended
                    ended = True
                    break
                received += chunk
        show("client", received.removesuffix(prompt_bytes).decode(errors="backslashreplace"), show_lines)
        received = b""
        return not ended

    try:
        waiting = until_prompt()
        for line in stdin.splitlines():
            if not waiting:
                break
            print(f"[client] {prompt}{line}")
            os.write(controller, line.encode() + b"\n")
            waiting = until_prompt()
        if waiting:
            print(f"[client] {prompt}" + in_language(("(Ctrl-D: end of input)", "（Ctrl-D：输入结束）")))
            os.write(controller, b"\x04")
            until_prompt()
        return client.wait(max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        client.kill()
        raise LabError(f"{shown(argv[0])} did not finish within {WAIT_SECONDS} s; stopped it") from None
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        os.close(controller)
        os.close(output)


def run_lesson(lesson, spec=None):
    spec = spec or LESSONS[lesson]
    for number, demo in enumerate(spec.get("demos", [spec])):
        if "title" in demo:
            if number > 0:
                print()
            print(f"=== {in_language(demo['title'])}")
        run_demo(lesson, dict(spec, **demo))


def run_demo(lesson, spec):
    with tempfile.TemporaryDirectory(prefix="socketlab-") as tmp, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))

        def fill(args, port=""):
            return [arg.replace("{port}", str(port)).replace("{tmp}", tmp)
                    .replace("{silent_udp_port}", str(silent.getsockname()[1])) for arg in args]

        for file_name, text in spec.get("files", {}).items():
            Path(tmp, file_name).write_text(text)

        name, args = spec["server"]
        server_argv = [str(BUILD_DIR / lesson / name), *fill(args)]
        print(f"[server] $ {shlex.join([shown(server_argv[0]), *server_argv[1:]])}")
        server = subprocess.Popen(server_argv, cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, errors="backslashreplace")
        server_output = Output(server.stdout)
        try:
            ready_line = server_output.first_line(WAIT_SECONDS)
            ready = READY_LINE.match(ready_line or "")
            if not ready:
                server.kill()
                server.wait()
                server_output.thread.join(WAIT_SECONDS)
                said = " / ".join(server_output.lines) or "nothing"
                raise LabError(f"{shown(server_argv[0])} did not start (it said: {said})")
            print(f"[server] {ready_line}")
            print()
            for client_name, client_args, stdin in spec["clients"]:
                client_argv = [str(BUILD_DIR / lesson / client_name), *fill(client_args, ready.group("port"))]
                print(f"[client] $ {shlex.join([shown(client_argv[0]), *client_argv[1:]])}")
                if stdin is not None and "prompt" in spec:
                    status = type_at_prompt(client_argv, tmp, stdin, spec["prompt"], spec.get("show_lines"))
                else:
                    text, status = run_client(client_argv, tmp, stdin)
                    show("client", text, spec.get("show_lines"))
                print("[client] " + in_language((f"(exit status {status})", f"（退出状态 {status}）")))
                print()
            try:  # a one-client server (lesson 01) ends by itself ...
                server.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        finally:  # ... the looping ones are stopped, also when a client run failed
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(5)
                except subprocess.TimeoutExpired:
                    server.kill()
            server.wait()
            server_output.thread.join(5)
        for line in server_output.lines[1:]:
            print(f"[server] {line}")


# --- check: a lesson's promises against anyone's program (harness/conftest.py, Subject) -----

HARNESS = ROOT / "harness"
TUTORIAL_PROGRAMS = HARNESS / "tutorial_programs"
# The lessons whose promises lab.py check runs, and which sides it checks.
CHECKED = {
    "01_tcp_basic": ("server", "client"),
    "02_udp_basic": ("server",),
    "03_loop_server": ("server", "client"),
    "04_remote_cmd": ("server",),
    "06_framed_fix": ("server",),
    "07_file_transfer": ("server",),
}
SCHEME_LESSONS = ("06_framed_fix",)  # check and grade need --scheme for these
# The lesson's own g++ line (each lesson folder builds alone with it; 07 links xxhash).
GXX = ["g++", "-std=c++17", "-O2", "-Wall", "-Wextra", "-Wpedantic"]
EXTRA_LIBRARIES = {"07_file_transfer": ["-lxxhash"]}

CHECK_HELP = """\
usage: python3 harness/lab.py check LESSON --server CMD [--client CMD] [--scheme ack|fixed|json]
                                           [--junit FILE] [--lang en|zh]

Runs the lesson's promises against your program, in any language. CMD is your command line,
split like a shell's words (no shell); {host} and {port} in it are replaced by the address
lab.py chose, and when neither appears, " {host} {port}" is appended. So your program takes
host and port as its arguments (the tutorial's ip_port), nothing else. Also:
  my_server.py           runs with python3
  my_server.cpp          compiled first with the lesson's own g++ line (errors shown, nothing run)
  tutorial:NAME          the tutorial's program NAME from harness/tutorial_programs/
Your server needs no ready line: lab.py waits (at most 10 s) until the port listens. Every
process a check starts is stopped when it ends, with all its children.

Each promise prints one line: PASS, FAIL or SKIP, its tier and what it promises. tutorial:
what the tutorial's program does; socketlab: what the lesson adds. A failure says why, and
names the classic mistake behind it. Exit status: 0 when every tutorial promise holds,
1 otherwise, 2 for a bad command line. --junit FILE also writes a JUnit report.

Lessons with promises: {lessons}
Example: python3 harness/lab.py check 01 --server tutorial:000_tcp_server"""

CHECK_HELP_ZH = """\
用法：python3 harness/lab.py check LESSON --server CMD [--client CMD] [--scheme ack|fixed|json]
                                          [--junit FILE] [--lang en|zh]

用这一课的约定检查你自己的程序，任何语言都可以。CMD 是你的命令行，按 shell 的规则拆成单词
（不经过 shell）；其中的 {host} 和 {port} 换成 lab.py 选好的地址；两者都没有出现时，在末尾加上
" {host} {port}"。所以你的程序只接收主机和端口两个参数（教程里的 ip_port），别的都不要。另外：
  my_server.py           用 python3 运行
  my_server.cpp          先用这一课自己的 g++ 命令编译（显示编译错误，不运行）
  tutorial:NAME          harness/tutorial_programs/ 里教程的程序 NAME
服务端不需要打印就绪行：lab.py 等待端口开始监听（最多 10 秒）。检查启动的每个进程连同它的
所有子进程，都在检查结束时停掉。

每条约定打印一行：PASS、FAIL 或 SKIP，然后是级别和约定的内容。tutorial：教程的程序做到的；
socketlab：这一课加上的。失败时说明原因，并指出背后常见的错误。退出状态：所有 tutorial 级
约定都成立时为 0，否则为 1，命令行有误时为 2。--junit FILE 另外写一份 JUnit 报告。

有约定的课：{lessons}
例子：python3 harness/lab.py check 01 --server tutorial:000_tcp_server"""

GRADE_HELP = """\
usage: python3 harness/lab.py grade LESSON SUBMISSIONS [--scheme ack|fixed|json] [--lang en|zh]

For instructors: every sub-folder of SUBMISSIONS is one student's, holding server.py or
server.cpp (and client.py or client.cpp where the lesson checks clients). All are checked
as with `check`, as many at once as there are cores. Prints one table (student x promise,
a score per tier), writes SUBMISSIONS/socketlab-report/NN.csv (NN: the lesson's number) and one
JUnit file per student, SUBMISSIONS/socketlab-report/NN/<student>.xml (other lessons' reports
are kept).
A submission that does not build or start gets a row that says so."""

GRADE_HELP_ZH = """\
用法：python3 harness/lab.py grade LESSON SUBMISSIONS [--scheme ack|fixed|json] [--lang en|zh]

给老师用：SUBMISSIONS 的每个子文件夹属于一个学生，里面有 server.py 或 server.cpp（这一课也检查
客户端时，还有 client.py 或 client.cpp）。每份都像 `check` 一样检查，同时检查的份数等于 CPU 核数。
打印一张表（学生 × 约定，每个级别一个得分），写出 SUBMISSIONS/socketlab-report/NN.csv（NN 是课的
编号），以及每个学生一份 JUnit 文件 SUBMISSIONS/socketlab-report/NN/<学生>.xml（其他课的报告保留）。
编译失败或启动不了的作业也占一行，写明原因。"""

WORDS = {  # lab.py's own lines, (English, 中文)
    "compiling": ("compiling", "编译"),
    "did not compile": ("did not compile", "编译失败"),
    "holds": ("{tier}: {passed} of {total} promises hold", "{tier}：{total} 条约定中 {passed} 条成立"),
    "no pytest": ("no Python with pytest found (tried {tried}); the README's Prerequisites line installs "
                  "python3-pytest", "找不到装有 pytest 的 Python（试过 {tried}）；README 的 Prerequisites "
                  "一行会安装 python3-pytest"),
    "did not run": ("the promises did not run (pytest exit status {status})",
                    "约定没有运行（pytest 退出状态 {status}）"),
    "not built": ("does not build", "编译失败"),
    "no program": ("no {side}.py or {side}.cpp", "没有 {side}.py 或 {side}.cpp"),
    "wrote": ("wrote {csv} and {count} JUnit files in {folder}", "已写出 {csv}，以及 {folder} 中的 {count} 个 JUnit 文件"),
    "student": ("student", "学生"),
}


def word(key, **values):
    return in_language(WORDS[key]).format(**values)


class NotBuilt(Exception):
    """A student's .cpp that did not compile: the compiler's output."""


def python_with_pytest():
    """The Python that has pytest: Debian's /usr/bin/python3 first (as CMake looks for it)."""
    tried = []
    for python in dict.fromkeys(["/usr/bin/python3", sys.executable]):
        tried.append(python)
        if Path(python).exists() and subprocess.run([python, "-c", "import pytest"],
                                                    capture_output=True).returncode == 0:
            return python
    raise LabError(word("no pytest", tried=", ".join(tried)))


def compile_cpp(source, lesson, folder):
    """The student's .cpp built with the lesson's own g++ line into `folder`; the program's path."""
    binary = Path(folder) / source.stem
    argv = [*GXX, "-o", str(binary), str(source), *EXTRA_LIBRARIES.get(lesson, [])]
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="backslashreplace")
    if done.returncode != 0:
        raise NotBuilt(f"$ {shlex.join(argv)}\n{done.stdout}{done.stderr}".rstrip())
    return binary


def program_command(command, lesson, folder, echo=True):
    """CMD as the checker runs it: tutorial:NAME, FILE.py and FILE.cpp resolved; else as given."""
    if command.startswith("tutorial:"):
        name = command.removeprefix("tutorial:").removesuffix(".py")
        path = TUTORIAL_PROGRAMS / f"{name}.py"
        if not path.exists():
            names = " ".join(sorted(p.stem for p in TUTORIAL_PROGRAMS.glob("*.py") if p.stem != "scripted_input"))
            usage_error(f"no tutorial program {name!r}; there are: {names}")
        return shlex.join(["python3", str(path)])
    try:
        words = shlex.split(command)
    except ValueError as error:
        usage_error(f"cannot split {command!r} into words: {error}")
    if not words:
        usage_error("an empty command")
    if len(words) == 1 and words[0].endswith((".py", ".cpp")):
        path = Path(words[0]).resolve()
        if not path.is_file():
            usage_error(f"no such file: {words[0]}")
        if path.suffix == ".py":
            return shlex.join(["python3", str(path)])
        if echo:
            print(f"lab.py: {word('compiling')} {words[0]}", flush=True)
        return shlex.join([str(compile_cpp(path, lesson, folder))])
    return command


def run_promises(lesson, server=None, client=None, scheme=None, junit=None, echo=True):
    """Run the lesson's promises on the given (resolved) commands. Returns (results, output):
    one dict per promise (tier, promise, outcome, why), and what pytest printed."""
    with tempfile.TemporaryDirectory(prefix="socketlab-check-") as tmp:
        results_file = Path(tmp) / "results.json"
        argv = [python_with_pytest(), "-m", "pytest", "-p", "no:cacheprovider", "-qq", "--no-header", "--no-summary", "-s",
                "-m", "promise", f"--rootdir={HARNESS}", str(HARNESS / f"test_{lesson}.py"),
                f"--subject-lang={LANGUAGE}", f"--subject-results={results_file}"]
        argv += [f"--subject-server={server}"] if server else []
        argv += [f"--subject-client={client}"] if client else []
        argv += [f"--subject-scheme={scheme}"] if scheme else []
        argv += [f"--junitxml={Path(junit).resolve()}"] if junit else []
        process = subprocess.Popen(argv, cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="backslashreplace")
        output = []
        try:
            for line in process.stdout:
                if echo and line.strip():  # pytest -qq ends with an empty line
                    print(line, end="", flush=True)
                output.append(line)
            process.wait()
        except KeyboardInterrupt:
            stop_gently(process)
            raise
        if not results_file.exists():
            raise LabError(word("did not run", status=process.returncode) + "\n" + "".join(output[-20:]))
        return json.loads(results_file.read_text()), "".join(output)


def stop_gently(pytest_process):
    """After Ctrl-C: pytest stops what it started in its teardown, so let it finish (reading its
    output, or it would block on a full pipe); a Ctrl-C that reached lab.py alone is passed on."""
    for attempt in range(2):
        try:
            pytest_process.communicate(timeout=5 if attempt == 0 else 30)
            return
        except subprocess.TimeoutExpired:
            pytest_process.send_signal(signal.SIGINT)
    pytest_process.kill()
    pytest_process.wait()


def tier_scores(results):
    """{tier: (held, total)} over the promises that applied (SKIP left out)."""
    scores = {}
    for result in results:
        if result["outcome"] != "SKIP":
            held, total = scores.get(result["tier"], (0, 0))
            scores[result["tier"]] = (held + (result["outcome"] == "PASS"), total + 1)
    return scores


def check(options):
    lesson = find_checked_lesson(options.lesson)
    if not options.server and not options.client:
        usage_error("check needs --server CMD or --client CMD (lab.py check --help)")
    if options.client and "client" not in CHECKED[lesson]:
        usage_error(f"{lesson} checks servers only: give --server CMD")
    need_scheme(lesson, options.scheme)
    with tempfile.TemporaryDirectory(prefix="socketlab-build-") as folder:
        try:
            server = options.server and program_command(options.server, lesson, folder)
            client = options.client and program_command(options.client, lesson, folder)
        except NotBuilt as error:
            print(error, file=sys.stderr)
            print(f"lab.py: {word('did not compile')}", file=sys.stderr)
            return 1
        results, _ = run_promises(lesson, server, client, options.scheme, options.junit)
    scores = tier_scores(results)
    for tier, (held, total) in scores.items():
        print(word("holds", tier=tier, passed=held, total=total))
    held, total = scores.get("tutorial", (0, 0))
    return 0 if held == total else 1


def need_scheme(lesson, scheme):
    if lesson in SCHEME_LESSONS and scheme is None:
        usage_error(f"{lesson} needs --scheme ack|fixed|json: the framing your program speaks")
    if lesson not in SCHEME_LESSONS and scheme is not None:
        usage_error(f"{lesson} takes no --scheme ({', '.join(SCHEME_LESSONS)} does)")


def find_checked_lesson(name):
    lesson = find_lesson(name)
    if lesson not in CHECKED:
        usage_error(f"{lesson} has no promises to check; lessons with promises: {', '.join(CHECKED)}")
    return lesson


# --- grade: a class's submissions, one folder each ------------------------------------------

def grade_one(lesson, folder, report_folder, scheme):
    """One student's row: {promise: outcome} and a note ('' when everything ran)."""
    commands, note = {}, ""
    with tempfile.TemporaryDirectory(prefix="socketlab-build-") as build_folder:
        for side in CHECKED[lesson]:
            found = [folder / f"{side}{suffix}" for suffix in (".py", ".cpp") if (folder / f"{side}{suffix}").exists()]
            if not found:
                if side == "server":
                    note = word("no program", side=side)
                continue
            try:
                commands[side] = program_command(str(found[0]), lesson, build_folder, echo=False)
            except NotBuilt as error:
                note = f"{found[0].name} {word('not built')}: " + first_error(str(error).replace(f"{folder}/", ""))
        if note or "server" not in commands:
            write_not_run_report(report_folder / f"{folder.name}.xml", folder.name, note)
            return {}, note
        results, _ = run_promises(lesson, commands.get("server"), commands.get("client"), scheme,
                                  report_folder / f"{folder.name}.xml", echo=False)
    started = [r for r in results if r["outcome"] == "FAIL" and "listened" in r["why"]]
    if started and len(started) == len([r for r in results if r["side"] == "server"]):
        note = started[0]["why"]
    return {(r["tier"], r["promise"]): r for r in results}, note


def write_not_run_report(path, student, note):
    """A JUnit file for a submission whose promises could not run: one error that says why."""
    suites = ElementTree.Element("testsuites")
    suite = ElementTree.SubElement(suites, "testsuite", name=student, tests="1", errors="1")
    case = ElementTree.SubElement(suite, "testcase", classname=student, name="builds and starts")
    ElementTree.SubElement(case, "error", message=note)
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def first_error(compiler_output):
    lines = [line for line in compiler_output.splitlines() if " error: " in line]
    return (lines or compiler_output.splitlines()[1:2] or ["?"])[0].strip()


def grade(options):
    lesson = find_checked_lesson(options.lesson)
    need_scheme(lesson, options.scheme)
    submissions = Path(options.submissions)
    if not submissions.is_dir():
        usage_error(f"no such folder: {options.submissions}")
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and p.name != "socketlab-report")
    number = lesson[:2]  # reports are named by the lesson's number: socketlab-report/03.csv, 03/
    report_folder = submissions / "socketlab-report" / number
    shutil.rmtree(report_folder, ignore_errors=True)  # this lesson's report only: others are kept
    report_folder.mkdir(parents=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        rows = dict(zip(students, pool.map(lambda s: grade_one(lesson, s, report_folder, options.scheme), students)))
    promises = list(dict.fromkeys(key for outcomes, _ in rows.values() for key in outcomes))
    promise_texts = {key: result["promise_zh"] for outcomes, _ in rows.values() for key, result in outcomes.items()}
    tiers = list(dict.fromkeys(tier for tier, _ in promises))
    table = [[word("student"), *[f"{tier} score" for tier in tiers], *[f"{n + 1}" for n in range(len(promises))], "note"]]
    for student, (outcomes, note) in rows.items():
        scores = tier_scores(outcomes.values())
        table.append([student.name, *[("%d/%d" % scores[tier]) if tier in scores else "-" for tier in tiers],
                      *[outcomes[key]["outcome"] if key in outcomes else "-" for key in promises], note])
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]) - 1)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    print()
    for column, (tier, promise) in enumerate(promises, 1):
        print(f"{column:2}. {tier:9} {in_language((promise, promise_texts[tier, promise]))}")
    csv_path = submissions / "socketlab-report" / f"{number}.csv"
    with open(csv_path, "w", newline="") as csv_file:
        writer = csv.writer(csv_file)
        writer.writerow(["student", *[f"{tier} score" for tier in tiers], *[f"{t}: {p}" for t, p in promises], "note"])
        writer.writerows(table[1:])
    print(word("wrote", csv=csv_path, count=len(list(report_folder.glob("*.xml"))), folder=report_folder))
    return 0


# --- the command line ----------------------------------------------------------------------

def full_help():
    return f"{usage_text()}\n\n{lesson_list()}\n\n{__doc__.strip()}"


def main():
    global LANGUAGE
    if len(sys.argv) == 1:
        print(f"{usage_text()}\n\n{lesson_list()}")
        return
    # argparse's own help would print "usage: usage: ...": lab.py prints its own texts.
    parser = argparse.ArgumentParser(prog="lab.py", usage=argparse.SUPPRESS, add_help=False)
    parser.error = usage_error  # one format for every usage error: the problem, usage, lessons
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--lang", choices=LANGUAGES)
    commands = parser.add_subparsers(dest="command")
    subparsers = {}
    for name in ("list", "run", "check", "grade"):
        subparsers[name] = commands.add_parser(name, usage=argparse.SUPPRESS, add_help=False)
        subparsers[name].error = usage_error
        subparsers[name].add_argument("-h", "--help", action="store_true")
        subparsers[name].add_argument("--lang", choices=LANGUAGES, default=None, dest="sub_lang")
    subparsers["run"].add_argument("lesson", nargs="?")
    subparsers["run"].add_argument("program", nargs="?")
    subparsers["run"].add_argument("--scheme", choices=("ack", "fixed", "json"))
    subparsers["check"].add_argument("lesson", nargs="?")
    subparsers["check"].add_argument("--server", metavar="CMD")
    subparsers["check"].add_argument("--client", metavar="CMD")
    subparsers["check"].add_argument("--scheme", choices=("ack", "fixed", "json"))
    subparsers["check"].add_argument("--junit", metavar="FILE")
    subparsers["grade"].add_argument("lesson", nargs="?")
    subparsers["grade"].add_argument("submissions", nargs="?")
    subparsers["grade"].add_argument("--scheme", choices=("ack", "fixed", "json"))
    options = parser.parse_args()
    LANGUAGE = getattr(options, "sub_lang", None) or options.lang or LANGUAGE
    lessons_with_promises = ", ".join(CHECKED)
    if options.command == "check" and options.help:
        print(in_language((CHECK_HELP, CHECK_HELP_ZH)).replace("{lessons}", lessons_with_promises))
        return
    if options.command == "grade" and options.help:
        print(in_language((GRADE_HELP, GRADE_HELP_ZH)))
        return
    if options.help or options.command is None:
        if options.command is None and not options.help:
            usage_error("give a command: run, list, check or grade")
        print(full_help())
        return
    if options.command == "list":
        print(lesson_list())
        return
    if options.lesson is None:
        usage_error(f"{options.command} needs a lesson")
    try:
        if options.command == "check":
            sys.exit(check(options))
        if options.command == "grade":
            if options.submissions is None:
                usage_error("grade needs a folder of submissions (lab.py grade --help)")
            sys.exit(grade(options))
        lesson = find_lesson(options.lesson)
        spec = variant(lesson, options.program, options.scheme)
        build(lesson)
        print()
        run_lesson(lesson, spec)
    except LabError as error:
        sys.stdout.flush()
        print(f"lab.py: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


def variant(lesson, program, scheme):
    """The lesson's demo with another of its servers (run 03 threaded_server) or another
    framing scheme (run 06 --scheme ack) in place of the default."""
    spec = dict(LESSONS[lesson])
    if program is not None:
        if "server" not in spec:
            usage_error(f"{lesson}'s demo runs several experiments; it takes no program name")
        servers = sorted(p.stem for p in (ROOT / lesson).glob("*server*.cpp"))
        if program not in servers:
            usage_error(f"{lesson} has no server called {program!r}; its servers: {', '.join(servers)}")
        spec["server"] = (program, spec["server"][1])
    if scheme is not None:
        if "--scheme" not in spec.get("server", ("", []))[1]:
            usage_error(f"{lesson} takes no --scheme (06_framed_fix does)")

        def with_scheme(args):
            return [scheme if index and args[index - 1] == "--scheme" else arg for index, arg in enumerate(args)]
        spec["server"] = (spec["server"][0], with_scheme(spec["server"][1]))
        spec["clients"] = [(name, with_scheme(args), stdin) for name, args, stdin in spec["clients"]]
    return spec


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lab.py list | head -3` ends quietly, like any command
    main()
