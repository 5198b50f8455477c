# Lesson 01, buggy: the whole message is read, but the reply goes out in one send() on a socket
# with a timeout, which sends only what fits. Breaks only "a 16 MiB message comes back whole".
import socket
import sys

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
conn, client_addr = server.accept()
conn.settimeout(30)
message = bytearray()
while True:
    data = conn.recv(65536)
    if not data:
        break
    message += data
conn.send(message.upper())
conn.close()
