# Lesson 03, buggy: recv() returning b'' is not checked, so a client that leaves without exit
# keeps the server looping on b'' for ever. Breaks only "a client that vanishes".
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
        if data == b"exit":
            break
        try:
            conn.sendall(data.upper())
        except OSError:
            break
    conn.close()
