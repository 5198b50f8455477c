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
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
READY_LINE = re.compile(r"^listening on (?P<host>\S+):(?P<port>\d+)(?: \((?:tcp|udp)\))?$")

# For each lesson: what it shows, the tutorial section, and its demo. In argument
# lists "{port}" becomes the port the server really bound and "{tmp}" a fresh
# temporary folder; each client run is (program, arguments, standard input).
LESSONS = {
    "01_tcp_basic": dict(
        summary="TCP client/server: one message, upper-cased reply (tutorial 000 §二.1)",
        server=("server", ["127.0.0.1", "0"]),
        clients=[("client", ["127.0.0.1", "{port}", "hello socket"], None)],
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
    spec = LESSONS[lesson]
    with tempfile.TemporaryDirectory(prefix="socketlab-") as tmp:
        def fill(args, port=""):
            return [arg.replace("{port}", str(port)).replace("{tmp}", tmp) for arg in args]

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
        for client_name, client_args, stdin in spec["clients"]:
            client_argv = [str(BUILD_DIR / lesson / client_name), *fill(client_args, ready.group("port"))]
            client = subprocess.run(client_argv, cwd=tmp, input=stdin, capture_output=True,
                                    text=True, errors="backslashreplace", timeout=60)
            show("client", [f"./{client_name}", *client_argv[1:]], client.stdout + client.stderr,
                 spec.get("show_lines"))
            print(f"[client] (exit status {client.returncode})")
            print()
        try:  # a one-client server (lesson 01) ends by itself; the looping ones are stopped
            server.wait(timeout=1)
        except subprocess.TimeoutExpired:
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
