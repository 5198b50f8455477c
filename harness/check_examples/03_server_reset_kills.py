# Lesson 03, buggy: a reset connection (ConnectionResetError) is not caught and ends the
# whole server. Breaks only "a client that resets the connection ends only its session".
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
        data = conn.recv(1024)
        if not data or data == b"exit":
            break
        try:
            conn.sendall(data.upper())
        except OSError:
            break
    conn.close()
