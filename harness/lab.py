#!/usr/bin/env python3
"""The student's front door to socketlab (standard library only).

    python3 harness/lab.py                 this help and the list of lessons
    python3 harness/lab.py list            one line per lesson
    python3 harness/lab.py --lang zh list  the same in Chinese (the default when LC_ALL or
                                           LANG starts with "zh", e.g. LANG=zh_CN.UTF-8)
    python3 harness/lab.py run 01          build lesson 01's programs (only those), then run its
                                           demo: start its server on a free port, run its client,
                                           print both transcripts, stop the server

Every command in a transcript can be pasted into a shell at the top of the repository. The
build folder is build/ (the CMake preset `default`); lab.py configures it by itself when it is
missing, half-made (an earlier configure failed) or made for another copy of the repository.
"""

import argparse
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
usage: python3 harness/lab.py [--lang en|zh] run LESSON    build one lesson's programs and run its demo
       python3 harness/lab.py [--lang en|zh] list          list the lessons
LESSON is a number (01) or a folder name (01_tcp_basic)."""

USAGE_ZH = """\
用法：python3 harness/lab.py [--lang en|zh] run LESSON    只编译这一课的程序，然后运行它的演示
      python3 harness/lab.py [--lang en|zh] list          列出所有课
LESSON 可以是编号（01）或文件夹名（01_tcp_basic）。"""

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
        status, _ = command(["cmake", "--preset", "default"], "configuring build/")
        if status != 0:
            raise LabError("configuring build/ failed; CMake's messages above say why. "
                           "Fix that and run lab.py again: it configures again by itself")
    # The target named after the lesson builds its programs (<lesson>_<name>) and nothing else.
    jobs = str(os.cpu_count() or 2)
    status, lines = command(["cmake", "--build", "build", "-j", jobs, "--target", lesson],
                            f"building {lesson}'s programs")
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
        lines = lines[:half] + [f"... ({len(lines) - 2 * half} more lines) ..."] + lines[-half:]
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
            print(f"[client] {prompt}(Ctrl-D: end of input)")
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


def run_lesson(lesson):
    spec = LESSONS[lesson]
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
                print(f"[client] (exit status {status})")
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


def main():
    global LANGUAGE
    if len(sys.argv) == 1:
        print(f"{usage_text()}\n\n{lesson_list()}")
        return
    parser = argparse.ArgumentParser(prog="lab.py", usage=USAGE, add_help=True)
    parser.error = usage_error  # one format for every usage error: the problem, usage, lessons
    parser.add_argument("--lang", choices=LANGUAGES)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", usage=USAGE).error = usage_error
    run = commands.add_parser("run", usage=USAGE)
    run.error = usage_error
    run.add_argument("lesson", nargs="?")
    options = parser.parse_args()
    LANGUAGE = options.lang or LANGUAGE
    if options.command == "list":
        print(lesson_list())
        return
    if options.lesson is None:
        usage_error("run needs a lesson")
    lesson = find_lesson(options.lesson)
    try:
        build(lesson)
        print()
        run_lesson(lesson)
    except LabError as error:
        sys.stdout.flush()
        print(f"lab.py: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lab.py list | head -3` ends quietly, like any command
    main()
