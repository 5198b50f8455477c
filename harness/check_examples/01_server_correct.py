# Lesson 01, a correct server written as a student would: tutorial 000 §二.1 plus a recv loop.
# For the checker's own tests (harness/test_lab_check.py): it passes every promise.
import socket
import sys

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
conn, client_addr = server.accept()
while True:
    data = conn.recv(1024)
    if not data:  # the client has finished sending
        break
    conn.sendall(data.upper())
conn.close()
