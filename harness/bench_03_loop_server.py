#!/usr/bin/env python3
"""Lesson 03 benchmark: echo round trips per second, threaded C++ server vs the tutorial's
own Python socketserver.ThreadingTCPServer program (harness/tutorial_programs/socket_server_tcp2.py).

Both servers are started here, on 127.0.0.1 port 0, and driven by the same load generator:
64 clients, each with one message in flight at a time (send a line, wait for all of its
reply, send the next), for a fixed time. Runs alternate between the two servers; each
number is the median of several runs. Standard library only.

    python3 harness/bench_03_loop_server.py            # against build/
    python3 harness/bench_03_loop_server.py --quick

The load generator is Python too (one thread, selectors), so the round trips/s of a fast
server are a lower bound: on a small machine the generator itself runs out of CPU first.
That is why the server's own CPU time per round trip (user + system, from /proc/PID/stat)
is measured as well: it does not depend on how fast the generator is.
"""

import pathlib
import re
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import os
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUTORIAL_SERVER = ROOT / "harness" / "tutorial_programs" / "socket_server_tcp2.py"
READY_LINE = re.compile(r"^listening on (?P<host>\S+):(?P<port>\d+)")
CLIENTS = 64


class Server:
    """A server process, its protocol, and its port once it printed its ready line."""

    def __init__(self, argv, greeting, reply_to, exit_message):
        self.greeting, self.reply_to, self.exit_message = greeting, reply_to, exit_message
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


def recv_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise RuntimeError("server closed the connection")
        data += chunk
    return data


def cpu_seconds(pid):
    """User + system CPU time the process has used so far (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server, seconds):
    """CLIENTS connections, one message in flight each, for `seconds`; every reply checked.
    Returns (round trips per second, server CPU microseconds per round trip)."""
    connections = []
    for _ in range(CLIENTS):  # one by one: the listen queue of both servers holds only 5
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        if recv_exactly(sock, len(server.greeting)) != server.greeting:
            raise RuntimeError("wrong greeting")
        sock.setblocking(False)
        connections.append(sock)
    selector = selectors.DefaultSelector()
    state = {}
    for number, sock in enumerate(connections):
        message = b"ping %02d %08d\n" % (number, 0)
        sock.send(message)
        state[sock] = [number, 0, server.reply_to(message), b""]  # client, count, expected, got
        selector.register(sock, selectors.EVENT_READ)
    done = 0
    cpu_before = cpu_seconds(server.process.pid)
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            sock = key.fileobj
            entry = state[sock]
            entry[3] += sock.recv(4096)
            if len(entry[3]) < len(entry[2]):
                continue
            if entry[3] != entry[2]:
                raise RuntimeError(f"wrong reply {entry[3]!r}, expected {entry[2]!r}")
            done += 1
            entry[1] += 1
            message = b"ping %02d %08d\n" % (entry[0], entry[1])
            entry[2], entry[3] = server.reply_to(message), b""
            sock.send(message)  # a dozen bytes always fit in an empty send buffer
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(server.process.pid) - cpu_before
    selector.close()
    for sock in connections:  # finish the replies in flight, then say goodbye properly
        sock.setblocking(True)
        entry = state[sock]
        recv_exactly(sock, len(entry[2]) - len(entry[3]))
        sock.sendall(server.exit_message)
        sock.close()
    return done / elapsed, cpu / done * 1e6


def run(build_dir: pathlib.Path, quick: bool = False) -> list:
    runs, seconds = (3, 0.5) if quick else (5, 2.0)
    cpp = Server([str(build_dir / "03_loop_server" / "threaded_server"), "127.0.0.1", "0"],
                 greeting="连接成功".encode(), reply_to=bytes.upper, exit_message=b"exit")
    try:
        python = Server([sys.executable, str(TUTORIAL_SERVER), "127.0.0.1", "0"],
                        greeting=b"Hello World!", reply_to=bytes, exit_message=b"exit")
    except Exception:
        cpp.stop()
        raise
    rates, cpu_costs = {cpp: [], python: []}, {cpp: [], python: []}
    try:
        for _ in range(runs):  # alternate, so that a noisy moment hits both
            for server in (cpp, python):
                rate, cpu_cost = measure(server, seconds)
                rates[server].append(rate)
                cpu_costs[server].append(cpu_cost)
    finally:
        cpp.stop()
        python.stop()
    rate = {server: statistics.median(values) for server, values in rates.items()}
    cost = {server: statistics.median(values) for server, values in cpu_costs.items()}
    note = f"median of {runs} runs of {seconds:g} s, {CLIENTS} clients, Python load generator"
    python_name = "tutorial socket_server_tcp2.py (Python ThreadingTCPServer)"
    return [
        {"lesson": "03_loop_server", "benchmark": "threaded_server (C++), echo round trips/s",
         "value": round(rate[cpp], 1), "unit": "round trips/s", "note": note},
        {"lesson": "03_loop_server", "benchmark": f"{python_name}, echo round trips/s",
         "value": round(rate[python], 1), "unit": "round trips/s", "note": note},
        {"lesson": "03_loop_server", "benchmark": "round trips/s, C++ / Python",
         "value": round(rate[cpp] / rate[python], 2), "unit": "x", "note": "ratio of the two medians above"},
        {"lesson": "03_loop_server", "benchmark": "threaded_server (C++), server CPU per round trip",
         "value": round(cost[cpp], 1), "unit": "CPU us", "note": note},
        {"lesson": "03_loop_server", "benchmark": f"{python_name}, server CPU per round trip",
         "value": round(cost[python], 1), "unit": "CPU us", "note": note},
        {"lesson": "03_loop_server", "benchmark": "server CPU per round trip, Python / C++",
         "value": round(cost[python] / cost[cpp], 2), "unit": "x", "note": "ratio of the two medians above"},
    ]


if __name__ == "__main__":
    rows = run(ROOT / "build", quick="--quick" in sys.argv[1:])
    width = max(len(row["benchmark"]) for row in rows)
    for row in rows:
        print(f"{row['benchmark']:{width}}  {row['value']:>12,.1f} {row['unit']:14} {row['note']}")
