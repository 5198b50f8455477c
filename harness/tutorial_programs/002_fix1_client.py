# Tutorial 002, §4.2 怎么解决粘包 — 解决方案1, 客户端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# It sends the bare command, reads the length as text, answers b'recv_ready', then reads
# until it has the length (counting wrong: recv_size+=len(data) adds the running total).
#     python3 -u 002_fix1_client.py [host] [port]     (default 127.0.0.1 8080; commands on stdin, 'quit' ends)
# ### 客户端 ###
import socket,time
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8080  # was ('127.0.0.1',8080)
s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
res=s.connect_ex((HOST, PORT))  # CHANGED: was ('127.0.0.1',8080)
while True:
    msg=input('>>: ').strip()
    if len(msg) == 0:continue
    if msg == 'quit':break
    s.send(msg.encode('utf-8'))
    length=int(s.recv(1024).decode('utf-8'))
    s.send('recv_ready'.encode('utf-8'))
    send_size=0
    recv_size=0
    data=b''
    while recv_size < length:
        data+=s.recv(1024)
        recv_size+=len(data)
    print(data.decode('utf-8'))
