"""Every pytest check as its own CTest test, so that `ctest` names each one (standard library and pytest).

    ctest_checks.py register OUTPUT BUILD_DIR GROUP:FILE:LABELS...
        CTest runs this at the start of every run (CMakeLists.txt puts it in TEST_INCLUDE_FILES):
        it collects the checks of each FILE (a harness/test_*.py) as `pytest --collect-only` does,
        and writes to OUTPUT one add_test() per check, named GROUP::check, with the GROUP's
        LABELS (comma-separated) and `torture` for a check marked torture. Collecting at every
        run means a check added to a test file is run without configuring again.
    ctest_checks.py merge BUILD_DIR
        After the checks (a CTest fixture cleanup test): each check wrote its own JUnit report,
        BUILD_DIR/junit/GROUP/*.xml; this joins each GROUP's into BUILD_DIR/junit/GROUP.xml, one
        <testcase> per check that ran, for CI systems and graders (a check that never finished
        included: see write_unfinished_report).

Each check's test runs `python -m pytest -rA <file>::<check>` in harness/, so the command CTest
shows (`ctest -V`) can be pasted to run that one check again.
"""

import collections
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent
# Per check: a plain build's slowest check takes about 5 s, a sanitizer build's a few times that.
TIMEOUT_SECONDS = 300
# The fixture whose setup test empties BUILD_DIR/junit and whose cleanup test runs `merge`.
REPORTS_FIXTURE = "socketlab_junit"


def cmake_string(text):
    """text as one CMake argument, taken literally (a bracket argument)."""
    assert "]==]" not in text, text
    return f"[==[{text}]==]"


def report_path(build_dir, group, position, check):
    """Where the check's own JUnit report goes: one file name per check, safe in any shell, that
    sorts in the order the checks stand in their file (so the joined report keeps that order)."""
    return Path(build_dir, "junit", group, f"{position:03d}-" + re.sub(r"[^\w.\[\]-]", "_", check) + ".xml")


def write_unfinished_report(report, nodeid):
    """Each check's JUnit report, before pytest writes the real one when the check ends (conftest.py
    calls this at start-up): it says the check did not finish, and so it stays for a check CTest
    stopped at its time limit, or one whose pytest crashed, and the joined report shows it."""
    file, _, check = nodeid.partition("::")
    suites = ElementTree.Element("testsuites")
    suite = ElementTree.SubElement(suites, "testsuite", tests="1", errors="1")
    case = ElementTree.SubElement(suite, "testcase", classname=Path(file).stem, name=check or file)
    ElementTree.SubElement(case, "error", message="did not finish: stopped at its time limit, or pytest itself crashed")
    report.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suites).write(report, encoding="utf-8", xml_declaration=True)


class Collector:
    """A pytest plugin that keeps what --collect-only finds: the checks, and the files that failed."""

    def __init__(self):
        self.checks = []    # pytest Items
        self.broken = {}    # file name -> why it could not be collected

    def pytest_collectreport(self, report):
        if report.failed:
            self.broken[Path(report.nodeid.split("::")[0]).name] = str(report.longrepr)

    def pytest_collection_finish(self, session):
        self.checks = list(session.items)


def register(output, build_dir, groups):
    files = {}  # file name in harness/ -> (group, labels)
    for spec in groups:
        group, file, labels = spec.split(":")
        files[Path(file).name] = (group, labels.split(","))
    collector = Collector()
    pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *files], plugins=[collector])

    python = sys.executable
    environment = f"SOCKETLAB_BUILD_DIR={build_dir};PYTHONDONTWRITEBYTECODE=1"
    lines = []

    def add_test(name, command, labels, properties=()):
        lines.append(f"add_test({' '.join(cmake_string(word) for word in (name, *command))})")
        settings = [("LABELS", ";".join(labels)), ("TIMEOUT", str(TIMEOUT_SECONDS)),
                    ("WORKING_DIRECTORY", str(HARNESS)), ("ENVIRONMENT", environment), *properties]
        lines.append(f"set_tests_properties({cmake_string(name)} PROPERTIES "
                     + " ".join(f"{key} {cmake_string(value)}" for key, value in settings) + ")")

    positions = collections.Counter()  # group -> checks registered so far
    for item in collector.checks:
        file, check = item.nodeid.split("::", 1)
        group, labels = files[file]
        positions[group] += 1
        properties = [("FIXTURES_REQUIRED", REPORTS_FIXTURE)]
        if item.get_closest_marker("torture"):
            labels = [*labels, "torture"]
        if item.get_closest_marker("slow"):
            # It builds a copy of the repository: one such build at a time, as one test file had it.
            properties.append(("RESOURCE_LOCK", "socketlab_repository_copy"))
        add_test(f"{group}::{check}",
                 [python, "-m", "pytest", "-rA", "-p", "no:cacheprovider",
                  f"--junitxml={report_path(build_dir, group, positions[group], check)}", "-o", f"junit_suite_name={group}",
                  item.nodeid],
                 labels, properties)
    for file, why in collector.broken.items():
        # A file pytest cannot read is one failing test, with pytest's reason: never a silent gap.
        group, labels = files[file]
        add_test(f"{group}::collecting {file}",
                 ["sh", "-c", 'printf "%s\\n" "$1"; exit 1', "sh", f"pytest could not collect {file}:\n{why}"],
                 labels)
    # Written whole, then renamed: a ctest started meanwhile (ctest -N) reads the old list or the new one.
    partial = Path(f"{output}.partial")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(output)


def merge(build_dir):
    for folder in sorted(path for path in Path(build_dir, "junit").glob("*") if path.is_dir()):
        suite = ElementTree.Element("testsuite", name=folder.name)
        totals = dict.fromkeys(("tests", "errors", "failures", "skipped"), 0)
        time = 0.0
        for report in sorted(folder.glob("*.xml")):
            for part in ElementTree.parse(report).getroot().iter("testsuite"):
                for key in totals:
                    totals[key] += int(part.get(key, 0))
                time += float(part.get("time", 0))
                suite.extend(part.iter("testcase"))
        suite.attrib.update({key: str(value) for key, value in totals.items()}, time=f"{time:.3f}")
        reports = ElementTree.Element("testsuites")
        reports.append(suite)
        ElementTree.indent(reports)
        ElementTree.ElementTree(reports).write(folder.with_suffix(".xml"), encoding="utf-8", xml_declaration=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["register"] and len(sys.argv) >= 5:
        register(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1:2] == ["merge"] and len(sys.argv) == 3:
        merge(sys.argv[2])
    else:
        sys.exit(__doc__)
