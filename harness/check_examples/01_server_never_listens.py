# Lesson 01, buggy: binds but never calls listen(), and waits.
import socket
import sys
import time

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
time.sleep(3600)
