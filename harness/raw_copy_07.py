"""The benchmark's yardstick for lesson 07: copy a file through a raw loopback
TCP connection into a file, with the same durability as the upload server
(fsync the file, rename it into place, fsync the folder) but no header, no
hashing, no checks. Not a tutorial program: the fastest honest copy we can
write in a few lines (sendfile() on the sending side, big recv_into() buffers
on the receiving side).

    python3 raw_copy_07.py receive DIR      prints "listening on 127.0.0.1:PORT", takes one file
    python3 raw_copy_07.py send FILE PORT   sends FILE, waits for the receiver's 1-byte ack and
                                             prints the seconds from connect() to the ack
                                             (so Python's start-up time is not counted)
"""
import os
import socket
import sys
import time

CHUNK = 256 * 1024


def receive(folder):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        print("listening on %s:%d" % listener.getsockname(), flush=True)
        conn, _ = listener.accept()
        with conn:
            temp = os.path.join(folder, ".raw-copy.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            while received := conn.recv_into(buffer):
                written = 0
                while written < received:
                    written += os.write(fd, view[written:received])
            os.fsync(fd)
            os.close(fd)
            os.rename(temp, os.path.join(folder, "raw-copy.bin"))
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dir_fd)
            os.close(dir_fd)
            conn.sendall(b"k")


def send(path, port):
    begin = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock, open(path, "rb") as f:
        sock.sendfile(f)
        sock.shutdown(socket.SHUT_WR)
        if sock.recv(1) != b"k":
            sys.exit("raw_copy_07.py: no ack")
    print(time.perf_counter() - begin)


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(sys.argv[2])
    else:
        send(sys.argv[2], int(sys.argv[3]))
