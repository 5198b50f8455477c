# Tutorial 002, §1 客户端异常退出 — 例1, 客户端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# It sends first (no greeting expected), then one recv(1024) per name; 'exit' ends it.
#     python3 -u 002_ex1_client.py [host] [port]     (default 192.168.3.21 8000; names on stdin)
# ### 客户端 ###
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000  # was ('192.168.3.21', 8000)
sk = socket.socket() # 创建客户端对象
sk.connect((HOST, PORT)) # 根据ip和端口连接  # CHANGED: (HOST, PORT)
while 1:
    name = input("请输入姓名:")
    sk.send(name.encode('utf-8')) # 字节
    if name == 'exit':
        break
    response = sk.recv(1024) # 字节
    print(response.decode('utf-8'))
sk.close() # 关闭自己
