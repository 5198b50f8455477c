"""Every benchmark figure in a README comes from one stated run of harness/bench/bench.py.

The top-level README.md and README.zh-CN.md each hold the whole table of one run between
`<!-- bench:all -->` and `<!-- /bench -->`; each lesson with a benchmark script
(harness/bench/bench_NN_name.py) quotes its rows of that same run between `<!-- bench:NN_name -->`
and `<!-- /bench -->` in its README pair. `python3 harness/bench/bench.py --update-readmes` writes
them all; these checks read text only: no build, no benchmark is run.
"""

import re
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent
sys.path.insert(0, str(HARNESS / "bench"))
import bench  # noqa: E402  (the block format: one definition for the writer and this check)

ROOT = HARNESS.parent
LESSONS = sorted(path.stem.removeprefix("bench_") for path in (HARNESS / "bench").glob("bench_*.py"))
FIX = "run `python3 harness/bench/bench.py --update-readmes` (it rewrites every block in one go)"


def name(path):
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def run():
    try:
        return bench.read_run(ROOT)
    except bench.BenchError as problem:
        pytest.fail(str(problem))


def test_benchmark_scripts_are_found():
    # 03, 06 and 07 at least: a glob that finds nothing tests nothing.
    assert len(LESSONS) >= 3 and all(re.fullmatch(r"\d\d_\w+", lesson) for lesson in LESSONS), LESSONS


def test_top_level_table_states_date_machine_and_command(run):
    # read_run() also checked that README.zh-CN.md states the same run with the same values.
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", run["date"]), run["date"]
    assert re.search(r"\d+ cores, Linux \S+$", run["machine"]), (
        f"the machine {run['machine']!r} is not what bench.py's machine() prints")
    assert run["command"].startswith("python3 harness/bench/bench.py"), run["command"]
    assert "--quick" not in run["command"], f"the README tables quote a smoke run ({run['command']}): {FIX}"


def test_top_level_table_covers_every_benchmark_script(run):
    in_table = sorted({cells[0] for cells in run["cells"]["en"]})
    assert in_table == LESSONS, (f"README.md's table has rows for {in_table}, the benchmark scripts are for "
                                 f"{LESSONS}: {FIX}")


def test_every_benchmark_lesson_has_its_block_in_both_readmes(run):
    try:
        bench.check_blocks(set(LESSONS), ROOT)
    except bench.BenchError as problem:
        pytest.fail(str(problem))


@pytest.mark.parametrize("path, language", bench.readmes(ROOT), ids=[name(p) for p, _ in bench.readmes(ROOT)])
def test_each_block_quotes_the_top_level_run(run, path, language):
    for block, body in bench.blocks(path.read_text(encoding="utf-8")):
        where = f"{name(path)}, block {block}"
        try:
            stated, header, rows = bench.parse(body, language, where)
        except bench.BenchError as problem:
            pytest.fail(str(problem))
        assert stated == {field: run[field] for field in stated}, (
            f"{where} states {stated}, the top-level table {({f: run[f] for f in stated})}: {FIX}")
        assert header == bench.COLUMNS[language], f"{where}: columns {header}"
        expected = [cells for cells in run["cells"][language] if block == bench.ALL or cells[0] == block]
        assert rows == expected, f"{where}: its rows are not the top-level table's rows for {block}: {FIX}"
        assert body == bench.render(run, language, block), f"{where}: not in the form bench.py writes: {FIX}"


def test_writing_the_top_level_run_again_changes_no_readme(run):
    # The writer and these checks agree: bench.py --update-readmes with this run would be a no-op.
    try:
        changed = bench.updated_readmes(run, ROOT)
    except bench.BenchError as problem:
        pytest.fail(str(problem))
    assert not changed, f"bench.py would rewrite {[name(path) for path in changed]}"
