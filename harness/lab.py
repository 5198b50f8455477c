#!/usr/bin/env python3
"""The student's front door to socketlab (standard library only).

    python3 harness/lab.py list            one line per lesson
    python3 harness/lab.py run 01          build if needed, then run lesson 01's demo:
                                           start its server on a free port, run its client,
                                           print both transcripts, stop the server
"""

import argparse
import re
import shlex
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
READY_LINE = re.compile(r"^listening on (?P<host>\S+):(?P<port>\d+)(?: \((?:tcp|udp)\))?$")

# For each lesson: what it shows, the tutorial section, and its demo. In argument
# lists "{port}" becomes the port the server really bound and "{tmp}" a fresh
# temporary folder; "{silent_udp_port}" a UDP port that receives but never answers
# (a lost reply); each client run is (program, arguments, standard input). A lesson
# with several experiments lists them under "demos", each a dict(title, server, clients).
# "files" (optional) are written into {tmp} before the server starts: {name: text}.
LESSONS = {
    "01_tcp_basic": dict(
        summary="TCP client/server: one message, upper-cased reply (tutorial 000 §二.1)",
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}", "hello socket"], None)],
    ),
    "02_udp_basic": dict(
        summary="UDP datagrams: boundaries kept, empty datagram, reply timeout (tutorial 000 §二.2)",
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}", "hello socket"], None),
                 ("client", ["127.0.0.1", "{port}", "hello", "world", ""], None),
                 ("client", ["--timeout", "1", "127.0.0.1", "{silent_udp_port}"], None)],
    ),
    "03_loop_server": dict(
        summary="link loop + communication loop: clients one after another, 'exit' (tutorial 001, 004)",
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}"], "hello\n\nsocket lab\nexit\n"),
                 ("client", ["127.0.0.1", "{port}"], "second client, same server\n")],
    ),
    "04_remote_cmd": dict(
        summary="remote shell, one recv(1024) per command: replies get mixed up (tutorial 000 §三)",
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}"], "seq -s ' ' 1 400\necho hi\necho bye\n"),
                 ("client", ["127.0.0.1", "{port}", "--wait", "1"], "true\necho after true\n")],
    ),
    "05_sticky_packet_demo": dict(
        summary="sticky packets: hello+magic glued / split, on demand; UDP never glues (tutorial 002 §4.1)",
        demos=[dict(title=title,
                    server=("server", ["127.0.0.1", "0", "--case", case]),
                    clients=[("client", ["127.0.0.1", "{port}", "--case", case], None)])
               for case, title in [
                   ("send-side", "情况一 发送方的缓存机制: two sends, ONE recv(10) gets both"),
                   ("receive-side", "情况二 接收方的缓存机制: recv(2) gets 'he', recv(10) the rest"),
                   ("nodelay", "control: TCP_NODELAY, no waiting - where the split falls is up to timing"),
                   ("udp", "contrast: UDP, two sendto -> two recvfrom, never glued")]],
    ),
    "06_framed_fix": dict(
        summary="remote shell with framed replies: ack / fixed '!I' / json header (tutorial 002 §4.2, 004)",
        server=("server", ["--scheme", "json", "127.0.0.1", "0"]),
        clients=[("client", ["--scheme", "json", "127.0.0.1", "{port}"],
                  "echo hello from the server\ntrue\nseq 1 100000\nls /no/such/dir\necho bye >&2; exit 3\n"),
                 ("client", ["--scheme", "json", "--bench", "2000", "127.0.0.1", "{port}"], None),
                 ("client", ["--scheme", "json", "--two-sends", "--bench", "20", "127.0.0.1", "{port}"], None)],
        show_lines=16,  # seq 1 100000 prints 100000 lines: show its start and end
    ),
    "07_file_transfer": dict(
        summary="upload a file: dict header, XXH3-128 check, atomic rename (tutorial 001 文件传输实例, 004 end)",
        files={"notes.txt": "first line\nquit\nthe tutorial's receiver would have stopped at 'quit'\n"},
        server=("server", ["--dir", "{tmp}/received", "127.0.0.1", "0"]),
        clients=[("client", ["{tmp}/notes.txt", "127.0.0.1", "{port}"], None),
                 ("client", ["{tmp}/notes.txt", "127.0.0.1", "{port}"], None)],
    ),
}


def find_lesson(name):
    matches = [lesson for lesson in LESSONS if lesson == name or lesson.startswith(name + "_")
               or lesson[:2] == name.zfill(2)]
    if len(matches) != 1:
        sys.exit(f"lab.py: no lesson called {name!r}; try: python3 harness/lab.py list")
    return matches[0]


def build():
    """Configure once, then build (a no-op when nothing changed)."""
    if not (BUILD_DIR / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "--preset", "default"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", "--preset", "default"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def show(label, argv, text, show_lines=None):
    print(f"[{label}] $ {shlex.join(argv)}")
    lines = text.splitlines()
    if show_lines and len(lines) > show_lines:  # a long transcript: its first and last lines
        half = show_lines // 2
        lines = lines[:half] + [f"... ({len(lines) - 2 * half} more lines) ..."] + lines[-half:]
    for line in lines:
        print(f"[{label}] {line}")


def run_lesson(lesson):
    for number, demo in enumerate(LESSONS[lesson].get("demos", [LESSONS[lesson]])):
        if "title" in demo:
            if number > 0:
                print()
            print(f"=== {demo['title']}")
        run_demo(lesson, demo)


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
        server = subprocess.Popen(server_argv, cwd=tmp, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, errors="backslashreplace")
        ready_line = server.stdout.readline().rstrip("\n")
        ready = READY_LINE.match(ready_line)
        if not ready:
            server.kill()
            sys.exit(f"lab.py: {name} did not start: {ready_line}{server.stdout.read()}")
        print(f"[server] $ {shlex.join(['./' + name, *fill(args)])}")
        print(f"[server] {ready_line}")
        print()
        try:
            for client_name, client_args, stdin in spec["clients"]:
                client_argv = [str(BUILD_DIR / lesson / client_name), *fill(client_args, ready.group("port"))]
                client = subprocess.run(client_argv, cwd=tmp, input=stdin, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT,  # one pipe keeps the order of lines
                                        text=True, errors="backslashreplace", timeout=60)
                show("client", [f"./{client_name}", *client_argv[1:]], client.stdout, spec.get("show_lines"))
                print(f"[client] (exit status {client.returncode})")
                print()
            try:  # a one-client server (lesson 01) ends by itself ...
                server.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        finally:  # ... the looping ones are stopped, also when a client run failed
            if server.poll() is None:
                server.terminate()
            server.wait()
        for line in server.stdout.read().splitlines():
            print(f"[server] {line}")


def main():
    parser = argparse.ArgumentParser(description="socketlab: run the lessons")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the lessons")
    run = commands.add_parser("run", help="build if needed and run a lesson's demo")
    run.add_argument("lesson", help="folder name or number, e.g. 01_tcp_basic or 01")
    options = parser.parse_args()
    if options.command == "list":
        for lesson, spec in LESSONS.items():
            print(f"{lesson:24} {spec['summary']}")
        return
    lesson = find_lesson(options.lesson)
    build()
    run_lesson(lesson)


if __name__ == "__main__":
    main()
