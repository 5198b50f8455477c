# Lesson 03, buggy: no SO_REUSEADDR, so it cannot start again on its port while an old
# connection lingers in TIME_WAIT. Breaks only "the server starts again on its port at once".
import socket
import sys

sk = socket.socket()
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
