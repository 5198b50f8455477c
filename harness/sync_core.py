#!/usr/bin/env python3
"""Copy the shared headers into every lesson that uses them, or check that the copies are identical.

Each lesson folder builds alone (`cd NN_name && g++ ... server.cpp`), so a header that several
lessons share is copied into each folder, byte for byte. The original is the first folder's copy:
edit that one, then run

    python3 harness/sync_core.py            # copy each original over its copies
    python3 harness/sync_core.py --check    # only say which copies differ (exit 1 if any)

harness/test_shared_code.py runs the check as a test (CTest: `shared_code`).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# original -> the lesson folders that hold a copy of it
SHARED = {
    "01_tcp_basic/socket_core.h": ["02_udp_basic", "03_loop_server", "04_remote_cmd",
                                   "05_sticky_packet_demo", "06_framed_fix", "07_file_transfer"],
    "01_tcp_basic/command_line.h": ["02_udp_basic", "03_loop_server", "04_remote_cmd",
                                    "05_sticky_packet_demo", "06_framed_fix", "07_file_transfer"],
    "01_tcp_basic/quoted.h": ["02_udp_basic", "03_loop_server", "04_remote_cmd",
                              "05_sticky_packet_demo", "06_framed_fix", "07_file_transfer"],
    "01_tcp_basic/time_limits.h": ["03_loop_server", "04_remote_cmd", "05_sticky_packet_demo",
                                   "06_framed_fix", "07_file_transfer"],
    "03_loop_server/accept_backoff.h": ["04_remote_cmd", "06_framed_fix", "07_file_transfer"],
    "04_remote_cmd/run_command.h": ["06_framed_fix"],
    "04_remote_cmd/stop_signals.h": ["06_framed_fix", "07_file_transfer"],
}


def copies():
    """(original, copy) paths, for every copy of every shared header."""
    for original, lessons in SHARED.items():
        source = ROOT / original
        for lesson in lessons:
            yield source, ROOT / lesson / source.name


def differing():
    """The copies that are missing or not byte-identical to their original."""
    return [copy for original, copy in copies()
            if not copy.exists() or copy.read_bytes() != original.read_bytes()]


def main(argv):
    if argv not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    stale = differing()
    if argv == ["--check"]:
        for copy in stale:
            print(f"{copy.relative_to(ROOT)} differs from its original; run: python3 harness/sync_core.py")
        return 1 if stale else 0
    for original, copy in copies():
        if copy in stale:
            copy.write_bytes(original.read_bytes())
            print(f"copied {original.relative_to(ROOT)} -> {copy.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
