#!/usr/bin/env python3
"""Lesson 06's client in Python: standard library only (socket + struct + json), written the
tutorial's way (002 §4.2 解决方案2, 004 end: 用字典的方法来打包报头) but with struct format '!I'
(4-byte unsigned, network byte order) instead of 'i' (native byte order, signed).

    python3 harness/framed_client.py [--scheme fixed|json] [host] [port]

Reads commands from stdin, one per line, and prints each reply like ./client does. It talks to
the C++ server of 06_framed_fix (`./server --scheme fixed` or `--scheme json`).
"""

import argparse
import json
import socket
import struct
import sys

MAX_BYTES = 64 * 1024 * 1024        # refuse replies larger than this (the server's default limit)
MAX_JSON_HEADER = 64 * 1024


def recv_exact(sock, size):
    """Exactly `size` bytes: one recv() may return fewer (粘包 / 拆包), so loop."""
    data = bytearray(size)
    view = memoryview(data)
    received = 0
    while received < size:
        count = sock.recv_into(view[received:], size - received)
        if count == 0:
            raise ConnectionError(f"connection closed after {received} of {size} bytes")
        received += count
    return bytes(data)


def recv_frame_length(sock, limit):
    (size,) = struct.unpack("!I", recv_exact(sock, 4))   # not 'i': see the lesson README
    if size > limit:
        raise ValueError(f"length {size} exceeds the limit of {limit} bytes")
    return size


def ask_fixed(sock, command):
    """fixed: [4-byte length][command] out, [4-byte length][stdout + stderr] back."""
    sock.sendall(struct.pack("!I", len(command)) + command)   # header and body in ONE send
    return recv_exact(sock, recv_frame_length(sock, MAX_BYTES))


def ask_json(sock, command):
    """json: [4-byte length][JSON header][bodies]; returns (header dict, stdout, stderr)."""
    header = json.dumps({"command_size": len(command)}).encode("utf-8")
    sock.sendall(struct.pack("!I", len(header)) + header + command)
    reply = json.loads(recv_exact(sock, recv_frame_length(sock, MAX_JSON_HEADER)))
    sizes = reply["stdout_size"], reply["stderr_size"]
    if not all(isinstance(size, int) and 0 <= size <= MAX_BYTES for size in sizes) or sum(sizes) > MAX_BYTES:
        raise ValueError(f"bad sizes in the reply header: {reply}")
    out = recv_exact(sock, reply["stdout_size"])
    err = recv_exact(sock, reply["stderr_size"])
    return reply, out, err


def main():
    parser = argparse.ArgumentParser(description="lesson 06 client in Python (fixed or json scheme)")
    parser.add_argument("--scheme", choices=("fixed", "json"), default="json")
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int, default=8080)
    options = parser.parse_args()
    with socket.create_connection((options.host, options.port)) as sock:
        for line in sys.stdin.buffer:
            command = line.rstrip(b"\n")
            if not command.strip():
                continue                                    # if len(msg) == 0: continue
            if command == b"quit":
                break
            if options.scheme == "fixed":
                sys.stdout.buffer.write(ask_fixed(sock, command))
            else:
                reply, out, err = ask_json(sock, command)
                sys.stdout.buffer.write(out)
                sys.stderr.buffer.write(err)
                if reply["error"]:
                    print(f"framed_client.py: the server refused: {reply['error']}", file=sys.stderr)
                elif reply["exit_code"] != 0:
                    print(f"[exit status {reply['exit_code']}]", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()


if __name__ == "__main__":
    main()
