# Lesson 01, buggy: recv() returning b'' is not handled, so after the message the loop spins
# for ever and the connection is never closed. Breaks only "the server closes the connection".
import socket
import sys

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
conn, client_addr = server.accept()
while True:
    data = conn.recv(1024)
    conn.sendall(data.upper())
