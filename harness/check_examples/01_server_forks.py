# Lesson 01, correct on the wire, but it forks a child that keeps the listening socket (and the
# port) and sleeps: the checker must stop the child too.
import os
import socket
import sys
import time

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
if os.fork() == 0:
    time.sleep(3600)  # the child: holds the port, does nothing
    os._exit(0)
conn, client_addr = server.accept()
while data := conn.recv(1024):
    conn.sendall(data.upper())
conn.close()
