#!/usr/bin/env python3
"""Run every lesson's benchmarks and print one table; write it into the READMEs on request.

    python3 harness/bench/bench.py                    full run (minutes: it moves a 1 GiB file)
    python3 harness/bench/bench.py --quick            small sizes, a few seconds each (a smoke run)
    python3 harness/bench/bench.py --markdown         the table as Markdown
    python3 harness/bench/bench.py --update-readmes   full run, then every README's figures from it

Each harness/bench/bench_NN_name.py defines TARGETS (the CMake targets it needs) and
run(build_dir, quick) returning rows {"lesson", "benchmark", "value", "unit", "note"} and
"zh": the same "benchmark", "unit" and "note" in Chinese; a lesson that compares two things
(C++ vs the tutorial's Python, upload vs raw copy) adds a row with their ratio. Every value is
measured in this run (a median of several runs, as its note says).

--update-readmes writes one run into every README, English and Chinese, in one go: the
whole table between `<!-- bench:all -->` and `<!-- /bench -->` in the top-level README.md and
README.zh-CN.md, and each lesson's rows of that same table between `<!-- bench:NN_name -->`
and `<!-- /bench -->` in the lesson's README pair. Each block begins with one line that states
the date, the machine and the command. It writes nothing unless every benchmark ran and every
block was found. harness/test_bench_tables.py checks that every block quotes the top-level run.
"""

import argparse
import contextlib
import datetime
import importlib.util
import os
import platform
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent  # harness/bench
HARNESS = BENCH.parent
ROOT = HARNESS.parent

# --- the README blocks (harness/test_bench_tables.py reads them with these same definitions) ---

ALL = "all"  # the block name of the whole table (top-level README pair)
README_LANGUAGES = {"README.md": "en", "README.zh-CN.md": "zh"}
COLUMNS = {"en": ["lesson", "benchmark", "value", "unit", "note"],
           "zh": ["课程", "基准测试", "数值", "单位", "说明"]}
STATEMENT = {"en": "One run of `{command}` on {date}, {machine}:",
             "zh": "{date} 在 {machine} 上运行一次 `{command}` 的结果："}
BLOCK = re.compile(r"^<!-- bench:(?P<name>[\w.-]+) -->\n(?P<body>.*?)^<!-- /bench -->$", re.M | re.S)
END_MARKER = "<!-- /bench -->"
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")


class BenchError(Exception):
    """A README block is missing, malformed or does not match: one line, no traceback."""


def statement_pattern(language):
    """The statement line of `language` as a regex with groups date, machine, command."""
    pattern = re.escape(STATEMENT[language])
    for field, group in (("date", r"(?P<date>\d{4}-\d{2}-\d{2})"), ("machine", r"(?P<machine>.+?)"),
                         ("command", r"(?P<command>python3 harness/bench/bench\.py[^`]*)")):
        pattern = pattern.replace(re.escape("{" + field + "}"), group)
    return re.compile(pattern + "$")


def readmes(root):
    """(path, language) of the top-level README pair and each README pair one folder down,
    skipping hidden folders and build trees."""
    found = []
    for folder in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        if folder != root and (folder.name.startswith(".") or (folder / "CMakeCache.txt").exists()):
            continue
        for name, language in README_LANGUAGES.items():
            if (folder / name).is_file():
                found.append((folder / name, language))
    return found


def table_line(cells):
    return "| " + " | ".join(str(cell).replace("|", r"\|") for cell in cells) + " |"


def split_line(line):
    return [cell.strip().replace(r"\|", "|") for cell in CELL_SEPARATOR.split(line.strip())[1:-1]]


def render(run, language, name):
    """The body of block `name` (ALL or a lesson) in `language`: statement, table."""
    rows = [cells for cells in run["cells"][language] if name == ALL or cells[0] == name]
    lines = [STATEMENT[language].format(**run), "", table_line(COLUMNS[language]),
             "|" + "---|" * len(COLUMNS[language])]
    return "\n".join(lines + [table_line(cells) for cells in rows]) + "\n\n"


def parse(body, language, where):
    """The (statement fields, header cells, row cells) of one block's body."""
    lines = body.strip("\n").splitlines()
    match = statement_pattern(language).match(lines[0]) if lines else None
    if not match:
        raise BenchError(f"{where}: the block does not begin with the line that states the run, like "
                         f"{STATEMENT[language]!r}")
    table = [line for line in lines[1:] if line.strip()]
    if len(table) < 3 or not all(line.startswith("|") for line in table):
        raise BenchError(f"{where}: after the statement line the block holds a table with at least one row, "
                         "and nothing else")
    return match.groupdict(), split_line(table[0]), [split_line(line) for line in table[2:]]


def blocks(text):
    return [(match.group("name"), match.group("body")) for match in BLOCK.finditer(text)]


def read_run(root=ROOT):
    """The run quoted by the top-level README pair's whole tables, as render() takes it."""
    run = {"cells": {}}
    for name, language in README_LANGUAGES.items():
        path = root / name
        found = [body for block, body in blocks(path.read_text(encoding="utf-8")) if block == ALL]
        if len(found) != 1:
            raise BenchError(f"{name}: {len(found)} blocks <!-- bench:{ALL} --> ... {END_MARKER}, "
                             "expected exactly one (the whole table)")
        stated, _, rows = parse(found[0], language, f"{name}, block {ALL}")
        for field, value in stated.items():
            if run.setdefault(field, value) != value:
                raise BenchError(f"{name}: its table states {field} {value!r}, README.md's states {run[field]!r}: "
                                 "the twins must quote the same run")
        run["cells"][language] = rows
    english, chinese = run["cells"]["en"], run["cells"]["zh"]
    if [(row[0], row[2]) for row in english] != [(row[0], row[2]) for row in chinese]:
        raise BenchError("README.zh-CN.md: the whole table's lessons and values differ from README.md's: "
                         "the twins must quote the same run")
    return run


def check_blocks(lessons, root=ROOT):
    """Every lesson in `lessons` has a block in its own README pair, every block names ALL or
    one of them, and the top-level pair holds the ALL block; raises BenchError if not."""
    wanted = {(root / name, ALL) for name in README_LANGUAGES}
    wanted |= {(root / lesson / name, lesson) for lesson in lessons for name in README_LANGUAGES}
    for path, _ in readmes(root):
        text = path.read_text(encoding="utf-8")
        found = blocks(text)
        if text.count("<!-- bench:") != len(found) or text.count(END_MARKER) != len(found):
            raise BenchError(f"{path.relative_to(root)}: {text.count('<!-- bench:')} markers <!-- bench:NAME --> "
                             f"and {text.count(END_MARKER)} {END_MARKER}, but {len(found)} whole blocks: "
                             "every block opens and closes on a line of its own, and blocks do not nest")
        for name, _ in found:
            if name != ALL and name not in lessons:
                raise BenchError(f"{path.relative_to(root)}: block <!-- bench:{name} --> names no lesson "
                                 f"of the benchmarks ({', '.join(sorted(lessons))})")
            wanted.discard((path, name))
    if wanted:
        missing = ", ".join(f"{path.relative_to(root)} (bench:{name})" for path, name in sorted(wanted))
        raise BenchError(f"no block <!-- bench:NAME --> ... {END_MARKER} in {missing}")


def updated_readmes(run, root=ROOT):
    """{path: new text} for every README whose blocks `run` changes (after check_blocks)."""
    check_blocks({cells[0] for cells in run["cells"]["en"]}, root)
    changed = {}
    for path, language in readmes(root):
        text = path.read_text(encoding="utf-8")
        new = BLOCK.sub(lambda match: f"<!-- bench:{match.group('name')} -->\n"
                                      f"{render(run, language, match.group('name'))}{END_MARKER}", text)
        if new != text:
            changed[path] = new
    return changed


# --- running the benchmarks ----------------------------------------------------------------------

def load_benchmarks():
    for path in sorted(BENCH.glob("bench_*.py")):
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


def cells(row, language):
    text = row.get("zh", {}) if language == "zh" else {}
    return [row["lesson"], text.get("benchmark", row["benchmark"]), format_value(row["value"]),
            text.get("unit", row["unit"]), text.get("note", row.get("note", ""))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--update-readmes", action="store_true",
                        help="write this run into every README's marked blocks, English and Chinese")
    options = parser.parse_args()
    command = " ".join(["python3 harness/bench/bench.py", *(["--quick"] if options.quick else []),
                        *(["--markdown"] if options.markdown else []),
                        *(["--update-readmes"] if options.update_readmes else [])])
    benchmarks = list(load_benchmarks())

    sys.path.insert(0, str(HARNESS))
    import lab  # lab.build() configures and builds like `lab.py run`
    try:
        if options.update_readmes:  # a missing block stops us now, not after the benchmarks
            check_blocks({name.removeprefix("bench_") for name, _ in benchmarks}, ROOT)
        with contextlib.redirect_stdout(sys.stderr):  # stdout is for the table alone
            for target in dict.fromkeys(t for _, module in benchmarks for t in module.TARGETS):
                lab.build(target)
    except (BenchError, lab.LabError) as problem:
        sys.exit(f"bench.py: {problem}")
    rows = []
    for name, module in benchmarks:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(module.run(lab.BUILD_DIR, quick=options.quick))
        except RuntimeError as problem:
            sys.exit(f"bench.py: {name}: {problem}")

    run = {"date": datetime.date.today().isoformat(), "machine": machine(), "command": command,
           "cells": {language: [cells(row, language) for row in rows] for language in COLUMNS}}
    print(STATEMENT["en"].format(**run).rstrip(":"))
    columns, lines = COLUMNS["en"], run["cells"]["en"]
    if options.markdown:
        print("\n" + "\n".join([table_line(columns), "|" + "---|" * len(columns)] + [table_line(c) for c in lines]))
    else:
        widths = [max(len(str(c)) for c in column) for column in zip(columns, *lines)]
        for line in [columns, *lines]:
            print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    if options.update_readmes:
        try:
            changed = updated_readmes(run, ROOT)
        except BenchError as problem:
            sys.exit(f"bench.py: {problem}")
        for path, text in changed.items():
            path.write_text(text, encoding="utf-8")
        print(f"\nwrote this run into {len(changed)} READMEs: " +
              ", ".join(str(path.relative_to(ROOT)) for path in changed))


if __name__ == "__main__":
    main()
