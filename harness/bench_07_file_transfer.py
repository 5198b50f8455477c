#!/usr/bin/env python3
"""Benchmark for lesson 07 (not a test): how fast is a verified, atomic upload?

In one run, over 127.0.0.1, into files in the same temporary folder:
  1. upload a 1 GiB random file with the lesson's client/server (XXH3-128 on both ends,
     fsync of the file and the folder, atomic rename) — MB/s, median of several runs;
  2. copy the same bytes through a raw loopback socket into a file, fsynced the same way
     (harness/raw_copy_07.py: sendfile() → recv_into()/write()) — MB/s, and the ratio;
  3. the peak RSS of the client and of the server during those uploads (/usr/bin/time -v);
  4. the tutorial's own scheme (harness/tutorial_programs/file_send.py / file_receive.py:
     one line per send, a b'success' ack after each) on a 10 MiB text file — MB/s.
quick=True uses 32 MiB and 512 KiB instead (seconds, for a smoke run).

    python3 harness/bench_07_file_transfer.py [--quick]
Standard library only; needs /usr/bin/time (Debian package `time`).
"""

import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LESSON = "07_file_transfer"
HARNESS = Path(__file__).resolve().parent
READY_LINE = re.compile(r"^listening on 127\.0\.0\.1:(\d+)")
MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def start(argv, cwd):
    """Start a server-like program and return (process, port) once it says where it listens."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    ready = READY_LINE.match(line)
    if not ready:
        process.kill()
        raise RuntimeError(f"{argv}: no ready line, got {line!r} {process.stderr.read()}")
    return process, int(ready.group(1))


def timed(argv, cwd):
    """Run to completion; return the wall-clock seconds."""
    begin = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - begin


def max_rss_mib(time_report):
    return int(MAX_RSS.search(time_report).group(1)) / 1024


def make_random_file(path, size):
    with open(path, "wb") as f:
        for _ in range(size // (16 << 20)):
            f.write(os.urandom(16 << 20))
        f.write(os.urandom(size % (16 << 20)))
        f.flush()
        os.fsync(f.fileno())  # its write-back must not slow down whichever copy runs first


def make_text_file(path, size):
    rng = random.Random(7)
    words = ["socket", "recv", "send", "bind", "listen", "accept", "报头", "文件", "quit!", "data"]
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        while written < size:
            line = " ".join(rng.choice(words) for _ in range(rng.randrange(3, 12))) + "\n"
            f.write(line)
            written += len(line.encode())


def bench_copies(build_dir, work, source, size, runs):
    """Alternate lesson uploads and raw copies of `source`; return the median MB/s of each
    and the peak RSS of the client and of the server (MiB). Before each timed copy the
    previous output is deleted and os.sync() flushes every dirty page, so that no copy
    pays for the write-back of the one before it."""
    server_bin, client_bin = build_dir / LESSON / "server", build_dir / LESSON / "client"
    raw_copy = HARNESS / "raw_copy_07.py"
    upload_dir, raw_dir = work / "upload", work / "raw"
    raw_dir.mkdir()
    # The server runs under /usr/bin/time for all runs; its report comes when it is stopped.
    timer, port = start(["/usr/bin/time", "-v", str(server_bin), "--dir", str(upload_dir), "127.0.0.1", "0"], work)
    upload_rates, raw_rates, client_rss = [], [], []
    try:
        for _ in range(runs):
            for old in (upload_dir / source.name, raw_dir / "raw-copy.bin"):
                if old.exists():
                    old.unlink()
            os.sync()
            begin = time.perf_counter()
            client = subprocess.run(["/usr/bin/time", "-v", str(client_bin), str(source), "127.0.0.1", str(port)],
                                    cwd=work, capture_output=True, text=True, timeout=600)
            seconds = time.perf_counter() - begin
            if client.returncode != 0:
                raise RuntimeError(f"upload failed: {client.stdout}{client.stderr}")
            upload_rates.append(size / 1e6 / seconds)
            client_rss.append(max_rss_mib(client.stderr))

            os.sync()
            receiver, raw_port = start([sys.executable, str(raw_copy), "receive", str(raw_dir)], work)
            sender = subprocess.run([sys.executable, str(raw_copy), "send", str(source), str(raw_port)], cwd=work,
                                    check=True, capture_output=True, text=True, timeout=600)
            receiver.wait(timeout=60)
            if os.path.getsize(raw_dir / "raw-copy.bin") != size:
                raise RuntimeError("raw copy is incomplete")
            raw_rates.append(size / 1e6 / float(sender.stdout))  # timed inside: Python's start-up not counted
    finally:
        server_pid = int(Path(f"/proc/{timer.pid}/task/{timer.pid}/children").read_text().split()[0])
        os.kill(server_pid, signal.SIGTERM)
        _, report = timer.communicate(timeout=60)
    return statistics.median(upload_rates), statistics.median(raw_rates), max(client_rss), max_rss_mib(report)


def bench_tutorial(work, size, runs):
    programs = HARNESS / "tutorial_programs"
    text = work / "text.txt"
    make_text_file(text, size)
    real_size = text.stat().st_size
    rates = []
    for run in range(runs):
        output = work / f"tutorial-{run}"
        receiver, port = start([sys.executable, str(programs / "file_receive.py"), "127.0.0.1", "0", str(output)], work)
        seconds = timed([sys.executable, str(programs / "file_send.py"), str(text), "127.0.0.1", str(port)], work)
        receiver.wait(timeout=60)
        if output.read_bytes() != text.read_bytes():
            raise RuntimeError("the tutorial's receiver did not get the text file intact")
        rates.append(real_size / 1e6 / seconds)
    return statistics.median(rates)


def run(build_dir: Path, quick: bool = False) -> list:
    build_dir = Path(build_dir)
    size = (32 << 20) if quick else (1 << 30)
    text_size = (512 << 10) if quick else (10 << 20)
    runs = 3 if quick else 5
    label = f"{size >> 20} MiB" if size < (1 << 30) else f"{size >> 30} GiB"
    with tempfile.TemporaryDirectory(prefix="bench07-") as tmp:
        work = Path(tmp)
        source = work / "random.bin"
        make_random_file(source, size)
        upload, raw, client_rss, server_rss = bench_copies(build_dir, work, source, size, runs)
        tutorial = bench_tutorial(work, text_size, runs=3)
    note = f"median of {runs} runs, {label}"
    row = lambda benchmark, value, unit, note: dict(lesson=LESSON, benchmark=benchmark, value=round(value, 1),
                                                    unit=unit, note=note)
    return [
        row("upload: client/server, XXH3-128, fsync + rename", upload, "MB/s", note),
        row("raw loopback copy: sendfile -> recv/write, fsync + rename", raw, "MB/s", note),
        row("upload / raw copy", 100 * upload / raw, "%", "target >= 90 %"),
        row("client peak RSS during upload", client_rss, "MiB", f"max of {runs} runs, {label}, /usr/bin/time -v"),
        row("server peak RSS during upload", server_rss, "MiB", f"whole server life, {runs} uploads of {label}"),
        row("tutorial file_send.py: one line + 'success' ack per line", tutorial, "MB/s",
            f"median of 3 runs, {text_size >> 10} KiB text file"),
    ]


if __name__ == "__main__":
    rows = run(HARNESS.parent / "build", quick="--quick" in sys.argv)
    for r in rows:
        print(f"{r['benchmark']:60} {r['value']:>10} {r['unit']:6} {r['note']}")
