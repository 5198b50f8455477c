# Lesson 03, a correct client written as a student would (tutorial 001's socket_client.py with the
# lesson's changes): prints the greeting, sends each non-empty line, prints its reply, exit at the end.
import socket
import sys

client = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print(client.recv(1024).decode())
for line in sys.stdin:
    message = line.rstrip("\n")
    if not message:  # an empty message would leave both sides waiting
        continue
    client.sendall(message.encode())
    print(client.recv(1024).decode(), flush=True)
client.sendall(b"exit")
client.close()
