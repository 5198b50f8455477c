#!/usr/bin/env python3
"""Lesson 03 benchmark: echo round trips per second, threaded C++ server vs the tutorial's
own Python socketserver.ThreadingTCPServer program (harness/tutorial_programs/socket_server_tcp2.py).

Both servers are started here, on 127.0.0.1 port 0, and driven by the same load generator,
build/harness/bench/echo_load_03 (harness/bench/echo_load_03.cpp, C++): 64 client threads, each with
one connection and one message in flight (send it, read all of its reply, check it, send
the next), for a fixed time. The generator is C++ so that it is not what runs out of CPU
first. Runs alternate between the two servers; each number is the median of several runs.

    python3 harness/bench/bench_03_loop_server.py            # against build/
    python3 harness/bench/bench_03_loop_server.py --quick

On a small machine the generator and the server share the CPU, so round trips/s depend on
both. The server's own CPU time per round trip (user + system, from /proc/PID/stat, over the
same seconds) does not: it is measured as well.
"""

import os
import pathlib
import re
import statistics
import subprocess
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[2]
TUTORIAL_SERVER = ROOT / "harness" / "tutorial_programs" / "socket_server_tcp2.py"
READY_LINE = re.compile(r"^listening on (?P<host>\S+):(?P<port>\d+)")
RESULT_LINE = re.compile(r"round trips/s; server CPU (?P<cpu>\S+) us per round trip")
RATE = re.compile(r": (?P<rate>\S+) round trips/s")
CLIENTS = 64
LESSON = "03_loop_server"
TARGETS = [LESSON, "echo_load_03"]  # what bench.py builds first


class Server:
    """A server process, the greeting it sends, and its port once it printed its ready line."""

    def __init__(self, argv, greeting, upper):
        self.greeting, self.upper = greeting, upper
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready = threading.Event()
        self.port = None

        def read_stdout():  # find the ready line, then keep the pipe drained (both servers log a lot)
            for raw in self.process.stdout:
                match = READY_LINE.match(raw.decode(errors="replace"))
                if match and self.port is None:
                    self.port = int(match.group("port"))
                    ready.set()
            ready.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        if not ready.wait(20) or self.port is None:
            self.stop()
            raise RuntimeError(f"{argv[0]}: no ready line")

    def stop(self):
        self.process.kill()
        self.process.wait()


def measure(generator, server, seconds):
    """CLIENTS connections for `seconds`, every reply checked by the generator.
    Returns (round trips per second, server CPU microseconds per round trip)."""
    argv = [str(generator), str(server.port), "--greeting", server.greeting, "--clients", str(CLIENTS),
            "--seconds", str(seconds), "--server-pid", str(server.process.pid)]
    if server.upper:
        argv.append("--upper")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"echo_load_03 failed: {done.stderr.strip()}")
    return float(RATE.search(done.stdout).group("rate")), float(RESULT_LINE.search(done.stdout).group("cpu"))


def run(build_dir: pathlib.Path, quick: bool = False) -> list:
    generator = pathlib.Path(build_dir) / "harness" / "bench" / "echo_load_03"
    if not os.access(generator, os.X_OK):
        raise RuntimeError(f"bench_03_loop_server: {generator} is missing; build first: "
                           "cmake --preset default && cmake --build --preset default")
    runs, seconds = (3, 0.5) if quick else (5, 2.0)
    cpp = Server([str(pathlib.Path(build_dir) / LESSON / "threaded_server"), "127.0.0.1", "0"],
                 greeting="连接成功", upper=True)
    try:
        python = Server([sys.executable, str(TUTORIAL_SERVER), "127.0.0.1", "0"],
                        greeting="Hello World!", upper=False)
    except Exception:
        cpp.stop()
        raise
    rates, cpu_costs = {cpp: [], python: []}, {cpp: [], python: []}
    try:
        for _ in range(runs):  # alternate, so that a noisy moment hits both
            for server in (cpp, python):
                rate, cpu_cost = measure(generator, server, seconds)
                rates[server].append(rate)
                cpu_costs[server].append(cpu_cost)
    finally:
        cpp.stop()
        python.stop()
    rate = {server: statistics.median(values) for server, values in rates.items()}
    cost = {server: statistics.median(values) for server, values in cpu_costs.items()}
    note = f"median of {runs} runs of {seconds:g} s, {CLIENTS} clients, C++ load generator"
    note_zh = f"{runs} 次运行（每次 {seconds:g} s）的中位数，{CLIENTS} 个客户端，C++ 负载生成器"
    ratio_note, ratio_note_zh = "ratio of the two medians above", "上面两个中位数之比"
    python_name = "tutorial socket_server_tcp2.py (Python ThreadingTCPServer)"
    python_name_zh = "教程的 socket_server_tcp2.py (Python ThreadingTCPServer)"

    def row(benchmark, benchmark_zh, value, unit, unit_zh, note, note_zh):
        return {"lesson": LESSON, "benchmark": benchmark, "value": round(value, 2), "unit": unit, "note": note,
                "zh": {"benchmark": benchmark_zh, "unit": unit_zh, "note": note_zh}}

    return [
        row("threaded_server (C++), echo round trips/s", "threaded_server (C++)，回显每秒往返次数",
            rate[cpp], "round trips/s", "次往返/秒", note, note_zh),
        row(f"{python_name}, echo round trips/s", f"{python_name_zh}，回显每秒往返次数",
            rate[python], "round trips/s", "次往返/秒", note, note_zh),
        row("round trips/s, C++ / Python", "每秒往返次数，C++ / Python",
            rate[cpp] / rate[python], "x", "x", ratio_note, ratio_note_zh),
        row("threaded_server (C++), server CPU per round trip", "threaded_server (C++)，每次往返的服务端 CPU 时间",
            cost[cpp], "CPU us", "CPU 微秒", note, note_zh),
        row(f"{python_name}, server CPU per round trip", f"{python_name_zh}，每次往返的服务端 CPU 时间",
            cost[python], "CPU us", "CPU 微秒", note, note_zh),
        row("server CPU per round trip, Python / C++", "每次往返的服务端 CPU 时间，Python / C++",
            cost[python] / cost[cpp], "x", "x", ratio_note, ratio_note_zh),
    ]


if __name__ == "__main__":
    try:
        rows = run(ROOT / "build", quick="--quick" in sys.argv[1:])
    except RuntimeError as problem:
        sys.exit(str(problem))
    width = max(len(row["benchmark"]) for row in rows)
    for row in rows:
        print(f"{row['benchmark']:{width}}  {row['value']:>12,.2f} {row['unit']:14} {row['note']}")
