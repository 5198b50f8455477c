#!/usr/bin/env python3
"""Lesson 06 benchmark: small request/response round trips per second for each framing scheme,
and for the two-send variant (header in one send(), body in another) that stalls on Nagle's
algorithm + delayed ACK. Standard library only; loopback only; stops by itself.

    python3 harness/bench/bench_06_framed_fix.py [--quick]      (needs a build in build/)

Each round trip is `./client --bench N`: a blank command (the server answers it without a
shell, so this measures the framing, not fork+exec) and its empty reply. Every value is the
median of several runs of that, measured in this call.
"""

import pathlib
import re
import statistics
import subprocess
import sys
import threading

LESSON = "06_framed_fix"
TARGETS = [LESSON]  # what bench.py builds first
READY_LINE = re.compile(r"^listening on 127\.0\.0\.1:(\d+)")
RESULT_LINE = re.compile(r"round trips in (\S+) s: (\S+) round trips/s")

# (label, its Chinese, scheme, two sends?, round trips per run, quick round trips per run)
VARIANTS = [
    ("ack (length as text + recv_ready), round trips/s", "ack（文本长度 + recv_ready），每秒往返次数",
     "ack", False, 20000, 1000),
    ("fixed '!I' header, one write, round trips/s", "固定 '!I' 报头，一次写出，每秒往返次数",
     "fixed", False, 20000, 1000),
    ("json header, one write, round trips/s", "json 报头，一次写出，每秒往返次数", "json", False, 20000, 1000),
    ("fixed '!I' header, TWO sends, round trips/s", "固定 '!I' 报头，分两次 send，每秒往返次数",
     "fixed", True, 40, 8),
    ("json header, TWO sends, round trips/s", "json 报头，分两次 send，每秒往返次数", "json", True, 40, 8),
]


def measure(build_dir, scheme, two_sends, round_trips, runs):
    directory = pathlib.Path(build_dir) / LESSON
    extra = ["--two-sends"] if two_sends else []
    server = subprocess.Popen([str(directory / "server"), "--scheme", scheme, *extra, "127.0.0.1", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = READY_LINE.match(server.stdout.readline())
        if not ready:
            raise RuntimeError(f"{LESSON} server did not start")
        # keep reading its log so that it can never block on a full pipe
        threading.Thread(target=server.stdout.read, daemon=True).start()
        values = []
        for _ in range(runs):
            done = subprocess.run([str(directory / "client"), "--scheme", scheme, *extra,
                                   "--bench", str(round_trips), "127.0.0.1", ready.group(1)],
                                  capture_output=True, text=True, timeout=300, check=True)
            values.append(float(RESULT_LINE.search(done.stdout).group(2)))
        return statistics.median(values)
    finally:
        server.terminate()
        server.wait()


def run(build_dir: pathlib.Path, quick: bool = False) -> list:
    runs = 3 if quick else 5
    rows = []
    for label, label_zh, scheme, two_sends, round_trips, quick_round_trips in VARIANTS:
        count = quick_round_trips if quick else round_trips
        value = measure(build_dir, scheme, two_sends, count, runs)
        rows.append({"lesson": LESSON, "benchmark": label, "value": round(value, 1), "unit": "round trips/s",
                     "note": f"median of {runs} runs of {count}",
                     "zh": {"benchmark": label_zh, "unit": "次往返/秒",
                            "note": f"{runs} 次运行（每次 {count} 个往返）的中位数"}})
    return rows


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    rows = run(root / "build", quick="--quick" in sys.argv[1:])
    width = max(len(row["benchmark"]) for row in rows)
    print(f"{'benchmark':{width}}  {'value':>12}  note")
    for row in rows:
        print(f"{row['benchmark']:{width}}  {row['value']:>12.1f}  {row['note']}")


if __name__ == "__main__":
    main()
