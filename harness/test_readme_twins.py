"""Every README.md has a Chinese twin, README.zh-CN.md, that stays in step with it.

For the top-level README and every README.md one folder down (found by glob, so a new
lesson is covered without editing this file):
  - the twin README.zh-CN.md exists beside it;
  - every command line of a fenced code block in the English README appears, identically,
    in a fenced code block of the twin (a trailing `  # comment` and whole comment lines
    may be translated, so they are not compared);
  - both have the same tables with the same number of rows, in the same order;
  - each links the other in its first 5 lines.

Reads text files only: no build folder, no program is started.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TWIN_NAME = "README.zh-CN.md"
LINK_LINES = 5
LINK_TO_TWIN = f"[中文]({TWIN_NAME})"
LINK_TO_ENGLISH = "[English](README.md)"

FENCE = re.compile(r"^\s*(```|~~~)")
# A comment after a command: whitespace, `#`, then a space or the end of the line
# (`cmd   # note`). A `#` glued to text (`#include`, `'\#'`, `a#b`) is not a comment.
TRAILING_COMMENT = re.compile(r"\s+#(\s.*)?$")


def english_readmes():
    """README.md at the top and one folder down, skipping hidden folders and build trees."""
    found = [ROOT / "README.md"]
    for path in sorted(ROOT.glob("*/README.md")):
        folder = path.parent
        if folder.name.startswith(".") or (folder / "CMakeCache.txt").exists():
            continue
        found.append(path)
    return found


def name(path):
    return str(path.relative_to(ROOT))


def code_lines(text):
    """The command part of every non-empty line inside a fenced code block."""
    lines, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            continue
        stripped = line.strip()
        if not stripped or stripped == "#" or stripped.startswith("# "):
            continue                       # blank, or a whole-line comment
        command = TRAILING_COMMENT.sub("", stripped)
        if command:
            lines.append(command)
    return lines


def tables(text):
    """(first line, number of rows) of each table outside code blocks, in order; the
    header and separator lines count as rows."""
    found, inside, rows = [], False, []
    for line in text.splitlines() + [""]:
        if FENCE.match(line):
            inside = not inside
        if not inside and line.lstrip().startswith("|"):
            rows.append(line.strip())
        elif rows:
            found.append((rows[0], len(rows)))
            rows = []
    return found


def first_lines(text):
    return "\n".join(text.splitlines()[:LINK_LINES])


READMES = english_readmes()


def test_readmes_are_found():
    # The top level and the seven lessons at least: a glob that finds nothing tests nothing.
    assert len(READMES) >= 8, f"found only {[name(p) for p in READMES]}"


each_readme = pytest.mark.parametrize("english", READMES, ids=name)


def read_pair(english):
    twin = english.with_name(TWIN_NAME)
    if not twin.is_file():
        pytest.fail(f"{name(english)} has no Chinese twin: {name(twin)} is missing")
    return twin, english.read_text(encoding="utf-8"), twin.read_text(encoding="utf-8")


@each_readme
def test_every_command_line_is_in_the_twin(english):
    twin, english_text, twin_text = read_pair(english)
    in_twin = set(code_lines(twin_text))
    missing = [line for line in code_lines(english_text) if line not in in_twin]
    assert not missing, (f"{name(twin)}: code-block lines of {name(english)} not found "
                         f"identically in its code blocks:\n  " + "\n  ".join(missing))


@each_readme
def test_same_tables_with_same_row_counts(english):
    twin, english_text, twin_text = read_pair(english)
    english_tables, twin_tables = tables(english_text), tables(twin_text)
    for number, (header, rows) in enumerate(english_tables, 1):
        assert number <= len(twin_tables), (
            f"{name(twin)}: table {number} of {name(english)} ({rows} rows, {header}) "
            f"is missing: the twin has only {len(twin_tables)} tables")
        assert twin_tables[number - 1][1] == rows, (
            f"{name(twin)}: table {number} has {twin_tables[number - 1][1]} rows, but "
            f"table {number} of {name(english)} ({header}) has {rows}")
    assert len(twin_tables) == len(english_tables), (
        f"{name(twin)}: {len(twin_tables)} tables, {name(english)} has {len(english_tables)}; "
        f"extra: {[header for header, _ in twin_tables[len(english_tables):]]}")


@each_readme
def test_each_links_the_other_at_the_top(english):
    twin, english_text, twin_text = read_pair(english)
    assert LINK_TO_TWIN in first_lines(english_text), (
        f"{name(english)}: no link {LINK_TO_TWIN} in its first {LINK_LINES} lines")
    assert LINK_TO_ENGLISH in first_lines(twin_text), (
        f"{name(twin)}: no link {LINK_TO_ENGLISH} in its first {LINK_LINES} lines")
