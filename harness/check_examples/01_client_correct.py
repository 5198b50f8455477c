# Lesson 01, a correct client: sends its message, half-closes, reads the reply to the end.
import socket
import sys

client = socket.create_connection((sys.argv[1], int(sys.argv[2])))
client.sendall("hello socket".encode("utf-8"))
client.shutdown(socket.SHUT_WR)
reply = b""
while data := client.recv(1024):
    reply += data
print(reply.decode("utf-8"))
client.close()
