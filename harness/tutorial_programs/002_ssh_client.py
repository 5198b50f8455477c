# Tutorial 002, §2 粘包现象 — 模拟ssh, 客户端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# One recv(1024) per command, printed; 'quit' ends it.
#     python3 -u 002_ssh_client.py [host] [port]     (default 192.168.3.21 8888; commands on stdin)
# ### 客户端 ###
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8888  # was ('192.168.3.21', 8888)
BUFSIZE = 1024
ip_port = (HOST, PORT)  # CHANGED: was ('192.168.3.21', 8888)
s = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
s.connect(ip_port)
while True:
    msg=input('>>: ').strip()
    if len(msg) == 0:
        continue
    if msg == 'quit':
        break
    s.send(msg.encode('utf-8'))
    data = s.recv(BUFSIZE)
    print(data.decode('gbk'))
