#!/usr/bin/env python3
"""Run every lesson's benchmarks and print one table (standard library only).

    python3 harness/bench.py              full run (minutes: it moves a 1 GiB file)
    python3 harness/bench.py --quick      small sizes, a few seconds each
    python3 harness/bench.py --markdown   the table as Markdown, for the README

Each harness/bench_NN_name.py defines run(build_dir, quick) returning rows
{"lesson", "benchmark", "value", "unit", "note"}; a lesson that compares two
things (C++ vs the tutorial's Python, upload vs raw copy) adds a row with their
ratio. Every value is measured in this run (a median of several runs, as its
note says).
"""

import argparse
import datetime
import importlib.util
import os
import platform
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parent
sys.path.insert(0, str(HARNESS))
import lab  # noqa: E402  (lab.build() configures and builds like `lab.py run`)


def load_benchmarks():
    for path in sorted(HARNESS.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield path.stem, module


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}"


def format_value(value):
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    options = parser.parse_args()

    lab.build()
    rows = []
    for name, module in load_benchmarks():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run(lab.BUILD_DIR, quick=options.quick))

    when = datetime.date.today().isoformat()
    print(f"socketlab benchmarks, {when}, {machine()}{' (quick)' if options.quick else ''}")
    columns = ["lesson", "benchmark", "value", "unit", "note"]
    cells = [[row["lesson"], row["benchmark"], format_value(row["value"]), row["unit"], row.get("note", "")]
             for row in rows]
    if options.markdown:
        print("\n| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for line in cells:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(str(c)) for c in column) for column in zip(columns, *cells)]
    for line in [columns, *cells]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


if __name__ == "__main__":
    main()
