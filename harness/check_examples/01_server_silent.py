# Lesson 01, buggy: accepts, then neither reads nor answers nor closes.
import socket
import sys
import time

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
conn, client_addr = server.accept()
time.sleep(3600)
