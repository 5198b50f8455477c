#!/usr/bin/env python3
"""Benchmark for lesson 07 (not a test): how fast is a verified, atomic upload?

In one run, over 127.0.0.1, into files in the same temporary folder, alternating
(the order rotates every round, so that no contender always goes first):
  1. upload a 1 GiB random file with the lesson's client/server (XXH3-128 on both ends,
     fsync of the file and the folder, atomic rename) — MB/s, median of several runs;
  2. copy the same bytes through a raw loopback TCP connection into a file with
     build/harness/bench/raw_copy_07 (harness/bench/raw_copy_07.cpp): the same I/O as the upload —
     read()+send() of 256 KiB, recv()+write() of 256 KiB, sync_file_range() every 8 MiB,
     fsync, rename, fsync(dir) — without header, hashing and checks — MB/s, and the ratio;
  3. the same raw copy with sendfile() on the sending side (no copy to user space, which
     the upload cannot skip: it hashes what it sends) — MB/s, and that ratio too;
  4. the CPU time (user + system, both ends) of an upload and of a raw copy, and the
     peak RSS of the client and of the server (/usr/bin/time -v);
  5. the tutorial's own scheme (harness/tutorial_programs/file_send.py / file_receive.py:
     one line per send, a b'success' ack after each) on a 10 MiB text file — MB/s.
quick=True uses 32 MiB and 512 KiB instead (seconds, for a smoke run).
Every timed copy is timed the same way: wall clock around the sending program, from its
start to its exit, which comes after the receiver's fsync(dir) and its answer.

    python3 harness/bench/bench_07_file_transfer.py [--quick]
Standard library only; needs a build (build/07_file_transfer, build/harness/bench/raw_copy_07)
and /usr/bin/time (Debian package `time`).
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
TARGETS = [LESSON, "raw_copy_07"]  # what bench.py builds first
HARNESS = Path(__file__).resolve().parents[1]  # harness/ (this file is in harness/bench/)
TIME = "/usr/bin/time"  # GNU time: its -v report has the peak RSS and the CPU time
READY_LINE = re.compile(r"^listening on 127\.0\.0\.1:(\d+)")
MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
CPU_TIME = re.compile(r"(?:User|System) time \(seconds\): ([\d.]+)")


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


def timed_with_report(argv, cwd, what):
    """Run argv under `/usr/bin/time -v`; return (wall-clock seconds, the time report)."""
    begin = time.perf_counter()
    done = subprocess.run([TIME, "-v", *argv], cwd=cwd, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stdout}{done.stderr}")
    return seconds, done.stderr


def max_rss_mib(time_report):
    return int(MAX_RSS.search(time_report).group(1)) / 1024


def cpu_seconds(time_report):
    """User + system time from a /usr/bin/time -v report."""
    return sum(float(value) for value in CPU_TIME.findall(time_report))


def process_cpu_seconds(pid):
    """User + system time a running process has used so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_tools(build_dir):
    """Say clearly what is missing instead of failing halfway with a traceback."""
    if not (os.path.isfile(TIME) and os.access(TIME, os.X_OK)):
        raise RuntimeError(f"bench_07_file_transfer: {TIME} is missing or not executable; it measures the peak RSS "
                           "and CPU time (Debian: sudo apt-get install time)")
    for program in (build_dir / LESSON / "server", build_dir / LESSON / "client", build_dir / "harness" / "bench" / "raw_copy_07"):
        if not os.access(program, os.X_OK):
            raise RuntimeError(f"bench_07_file_transfer: {program} is missing; build first: "
                               "cmake --preset default && cmake --build --preset default")


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
    """Alternate lesson uploads and raw copies of `source` (read+send, and sendfile) and
    return, per contender, the MB/s and CPU seconds of every run, and the peak RSS of
    the lesson's client and server (MiB). Before each timed copy the previous output is
    deleted and os.sync() flushes every dirty page, so that no copy pays for the
    write-back of the one before it."""
    server_bin, client_bin = build_dir / LESSON / "server", build_dir / LESSON / "client"
    raw_copy = build_dir / "harness" / "bench" / "raw_copy_07"
    upload_dir, raw_dir = work / "upload", work / "raw"
    raw_dir.mkdir()
    # The server runs under /usr/bin/time for all runs; its report comes when it is stopped.
    timer, port = start([TIME, "-v", str(server_bin), "--dir", str(upload_dir), "127.0.0.1", "0"], work)
    server_pid = int(Path(f"/proc/{timer.pid}/task/{timer.pid}/children").read_text().split()[0])

    def upload():
        before = process_cpu_seconds(server_pid)
        seconds, report = timed_with_report([str(client_bin), str(source), "127.0.0.1", str(port)], work, "upload")
        client_rss.append(max_rss_mib(report))
        return seconds, cpu_seconds(report) + process_cpu_seconds(server_pid) - before

    def raw(*sender_options):
        def copy():
            receiver, raw_port = start([TIME, "-v", str(raw_copy), "receive", str(raw_dir)], work)
            seconds, report = timed_with_report([str(raw_copy), "send", str(source), str(raw_port), *sender_options],
                                                work, "raw copy")
            _, receiver_report = receiver.communicate(timeout=60)
            if receiver.returncode != 0 or os.path.getsize(raw_dir / "raw-copy.bin") != size:
                raise RuntimeError(f"raw copy is incomplete: {receiver_report}")
            return seconds, cpu_seconds(report) + cpu_seconds(receiver_report)
        return copy

    contenders = {"upload": upload, "raw": raw(), "sendfile": raw("--sendfile")}
    rates = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    client_rss = []
    try:
        for round_number in range(runs):
            names = list(contenders)
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:  # rotate: nobody always goes first
                for old in (upload_dir / source.name, raw_dir / "raw-copy.bin"):
                    if old.exists():
                        old.unlink()
                os.sync()
                seconds, cpu_used = contenders[name]()
                rates[name].append(size / 1e6 / seconds)
                cpu[name].append(cpu_used)
            print(f"bench_07 round {round_number + 1}/{runs}: " +
                  ", ".join(f"{name} {rates[name][-1]:.0f} MB/s {1000 * cpu[name][-1]:.0f} ms CPU" for name in names),
                  file=sys.stderr, flush=True)  # the spread behind the medians
    finally:
        os.kill(server_pid, signal.SIGTERM)
        _, report = timer.communicate(timeout=60)
    return rates, cpu, max(client_rss), max_rss_mib(report)


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
    check_tools(build_dir)
    size = (32 << 20) if quick else (1 << 30)
    text_size = (512 << 10) if quick else (10 << 20)
    runs = 5 if quick else 9
    label = f"{size >> 20} MiB" if size < (1 << 30) else f"{size >> 30} GiB"
    with tempfile.TemporaryDirectory(prefix="bench07-") as tmp:
        work = Path(tmp)
        source = work / "random.bin"
        make_random_file(source, size)
        rates, cpu, client_rss, server_rss = bench_copies(build_dir, work, source, size, runs)
        tutorial = bench_tutorial(work, text_size, runs=3)
    median = {name: statistics.median(values) for name, values in rates.items()}
    # The ratio of the medians, and the median of each round's own ratio (the contenders of
    # one round ran seconds apart, so that one is less exposed to the machine's other load).
    paired = {name: statistics.median(100 * u / r for u, r in zip(rates["upload"], rates[name]))
              for name in ("raw", "sendfile")}
    note = f"median of {runs} runs, {label}"
    note_zh = f"{runs} 次运行的中位数，{label}"
    upload_name = "upload: client/server, XXH3-128, fsync + rename"
    raw_name = "raw copy: read+send -> recv+write, same I/O as the upload"
    sendfile_name = "raw copy: sendfile -> recv+write, same receiver"

    def row(benchmark, benchmark_zh, value, unit, note, note_zh):
        return dict(lesson=LESSON, benchmark=benchmark, value=round(value, 1), unit=unit, note=note,
                    zh=dict(benchmark=benchmark_zh, note=note_zh))

    return [
        row(upload_name, "上传：客户端/服务端，XXH3-128，fsync + rename", median["upload"], "MB/s", note, note_zh),
        row(raw_name, "原始拷贝：read+send -> recv+write，I/O 与上传相同", median["raw"], "MB/s",
            note + "; 256 KiB buffers, sync_file_range every 8 MiB",
            note_zh + "；256 KiB 缓冲区，每 8 MiB 调一次 sync_file_range"),
        row("upload / raw copy", "上传 / 原始拷贝", 100 * median["upload"] / median["raw"], "%",
            f"ratio of the medians; target >= 90 %; median of the per-round ratios {paired['raw']:.1f} %",
            f"中位数之比；目标 >= 90 %；逐轮比值的中位数为 {paired['raw']:.1f} %"),
        row(sendfile_name, "原始拷贝：sendfile -> recv+write，接收端相同", median["sendfile"], "MB/s", note, note_zh),
        row("upload / raw copy with sendfile", "上传 / 使用 sendfile 的原始拷贝",
            100 * median["upload"] / median["sendfile"], "%",
            f"ratio of the medians; median of the per-round ratios {paired['sendfile']:.1f} %",
            f"中位数之比；逐轮比值的中位数为 {paired['sendfile']:.1f} %"),
        row("upload: CPU time, client + server", "上传：CPU 时间，客户端 + 服务端",
            1000 * statistics.median(cpu["upload"]), "ms", f"user + system, {note}", f"用户态 + 内核态，{note_zh}"),
        row("raw copy: CPU time, sender + receiver", "原始拷贝：CPU 时间，发送端 + 接收端",
            1000 * statistics.median(cpu["raw"]), "ms", f"user + system, {note}", f"用户态 + 内核态，{note_zh}"),
        row("client peak RSS during upload", "上传期间客户端的内存峰值（peak RSS）", client_rss, "MiB",
            f"max of {runs} runs, {label}, /usr/bin/time -v", f"{runs} 次运行中的最大值，{label}，/usr/bin/time -v"),
        row("server peak RSS during upload", "上传期间服务端的内存峰值（peak RSS）", server_rss, "MiB",
            f"whole server life, {runs} uploads of {label}", f"服务端整个生命周期，{runs} 次 {label} 上传"),
        row("tutorial file_send.py: one line + 'success' ack per line", "教程的 file_send.py：每发一行就等一个 'success' 应答",
            tutorial, "MB/s", f"median of 3 runs, {text_size >> 10} KiB text file",
            f"3 次运行的中位数，{text_size >> 10} KiB 文本文件"),
    ]

if __name__ == "__main__":
    try:
        rows = run(HARNESS.parent / "build", quick="--quick" in sys.argv)
    except RuntimeError as problem:
        sys.exit(str(problem))
    for r in rows:
        print(f"{r['benchmark']:60} {r['value']:>10} {r['unit']:6} {r['note']}")
