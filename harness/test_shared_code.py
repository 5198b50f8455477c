"""What every lesson shares: the headers kept byte-identical in each folder, and one command line.

Each lesson folder builds alone, so socket_core.h (original in 01_tcp_basic) and run_command.h
(original in 04_remote_cmd) are copied into the folders that use them (harness/sync_core.py).
A copy that differs fails here, named. And every program reads its command line the same way
(socket_core.h's parse_command_line): options before or after `[host] [port]`, decimal digits
only, the same message for a bad port, a bad number and an unknown option, exit status 2.
"""

import pytest

import sync_core

COPIES = [pytest.param(original, copy, id=str(copy.relative_to(sync_core.ROOT)))
          for original, copy in sync_core.copies()]


@pytest.mark.parametrize("original, copy", COPIES)
def test_every_copy_is_byte_identical_to_its_original(original, copy):
    assert copy.exists(), f"{copy} is missing; run: python3 harness/sync_core.py"
    assert copy.read_bytes() == original.read_bytes(), \
        f"{copy} differs from {original}; run: python3 harness/sync_core.py"


def test_every_copy_says_where_its_original_is():
    for original in sync_core.SHARED:
        head = (sync_core.ROOT / original).read_text()[:2000]
        assert f"The original is {original}" in head and "python3 harness/sync_core.py" in head, original


def test_the_check_finds_one_changed_byte(tmp_path, monkeypatch):
    for original, lessons in sync_core.SHARED.items():
        for folder in [original.split("/")[0], *lessons]:
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / original.split("/")[1]).write_bytes((sync_core.ROOT / original).read_bytes())
    monkeypatch.setattr(sync_core, "ROOT", tmp_path)
    assert sync_core.differing() == []
    victim = tmp_path / "05_sticky_packet_demo" / "socket_core.h"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    assert sync_core.differing() == [victim]
    assert sync_core.main(["--check"]) == 1
    assert sync_core.main([]) == 0 and sync_core.differing() == []  # the sync repairs it


# ---- one command line ------------------------------------------------------------------------
# (lesson, program, positional arguments before the port, most positional arguments or None,
#  options that take seconds, options that take a whole number with their range)
PROGRAMS = [
    ("01_tcp_basic", "server", ["127.0.0.1"], 2, [], []),
    ("01_tcp_basic", "client", ["127.0.0.1"], 3, ["--wait"], []),
    ("02_udp_basic", "server", ["127.0.0.1"], 2, [], []),
    ("02_udp_basic", "client", ["127.0.0.1"], None, ["--timeout"], []),
    ("03_loop_server", "server", ["127.0.0.1"], 2, ["--turn"], []),
    ("03_loop_server", "threaded_server", ["127.0.0.1"], 2, [], [("--max-clients", 1, 10000)]),
    ("03_loop_server", "client", ["127.0.0.1"], 2, ["--greeting", "--wait"], []),
    ("04_remote_cmd", "server", ["127.0.0.1"], 2, ["--timeout", "--idle-timeout"], []),
    ("04_remote_cmd", "client", ["127.0.0.1"], 2, ["--wait"], []),
    ("05_sticky_packet_demo", "server", ["127.0.0.1"], 2, ["--wait"], []),
    ("05_sticky_packet_demo", "client", ["127.0.0.1"], 2, [], []),
    ("06_framed_fix", "server", ["127.0.0.1"], 2, ["--timeout", "--idle-timeout"], [("--max-bytes", 1, 4294967295)]),
    ("06_framed_fix", "client", ["127.0.0.1"], 2, ["--wait"], [("--max-bytes", 1, 4294967295),
                                                               ("--bench", 1, 100000000)]),
    ("07_file_transfer", "server", ["127.0.0.1"], 2, [], []),
    ("07_file_transfer", "client", ["FILE", "127.0.0.1"], 3, ["--wait"], []),
]
BAD_PORTS = ["+80", " 80", "80 ", "-1", "0x50", "8.0", "", "65536", "99999999999999999999", "٨٠"]
BAD_SECONDS = ["+1", " 1", "1 ", "-1", "0", "0.0001", "86401", "1e3", "nan", "inf", "1.", ".5", "0x10", ""]
BAD_NUMBERS = ["+1", " 1", "-1", "0", "1e3", "0x10", "1.5", ""]


def refused(lab, lesson, name, args, problem, tmp_path):
    result = lab.expect_usage_error(lesson, name, *args, cwd=tmp_path)
    assert result.stderr_lines[0] == f"{name}: {problem}", (args, result.stderr)


@pytest.mark.parametrize("lesson, name, before_port, most, seconds, numbers", PROGRAMS,
                         ids=[f"{lesson[:2]}_{name}" for lesson, name, *_ in PROGRAMS])
def test_the_same_bad_arguments_get_the_same_answer(lab, tmp_path, lesson, name, before_port, most, seconds,
                                                    numbers):
    lowest = 0 if name.endswith("server") else 1  # only a server can ask for port 0
    for port in BAD_PORTS + ([] if lowest == 0 else ["0"]):
        refused(lab, lesson, name, [*before_port, port], f"bad port '{port}': want a number {lowest}-65535", tmp_path)
    for args in (["--bogus", *before_port], [*before_port, "1", "--bogus"]):  # before or after the positionals
        refused(lab, lesson, name, args, "unknown option '--bogus'", tmp_path)
    if most is not None:
        refused(lab, lesson, name, [*before_port, "1", *["x"] * (most - len(before_port))], "too many arguments",
                tmp_path)
    for option in seconds:
        for text in BAD_SECONDS:
            refused(lab, lesson, name, [*before_port, "1", option, text],
                    f"bad {option} '{text}': want seconds, 0.001-86400", tmp_path)
    for option, low, high in numbers:
        for text in BAD_NUMBERS + [str(high + 1)]:
            refused(lab, lesson, name, [option, text, *before_port, "1"],
                    f"bad {option} '{text}': want a number {low}-{high}", tmp_path)
    for option in seconds + [option for option, _, _ in numbers]:
        refused(lab, lesson, name, [*before_port, "1", option], f"{option} needs a value", tmp_path)
    # --help anywhere: the usage on stdout, exit status 0, nothing started
    result = lab.run(lesson, name, *before_port, "1", "--help", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.startswith(f"usage: {name} ")
    assert list(tmp_path.iterdir()) == []  # lesson 07's server made no ./received either
