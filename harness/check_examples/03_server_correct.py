# Lesson 03, a correct server written as a student would (tutorial 001's socket_server.py with
# the lesson's changes): greeting, upper-cased echo, exit, b'' and resets handled, SO_REUSEADDR.
import socket
import sys

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind((sys.argv[1], int(sys.argv[2])))
sk.listen(5)
while True:  # link loop
    conn, address = sk.accept()
    conn.sendall("连接成功".encode())
    while True:  # communication loop
        try:
            data = conn.recv(1024)
        except ConnectionResetError:
            break
        if not data or data == b"exit":
            break
        try:
            conn.sendall(data.upper())
        except OSError:
            break
    conn.close()
