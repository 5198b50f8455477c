# Tutorial 004 (Socket / 网络通信标准—网络协议 …), socket编程 — 持续性数据的交互: 客户端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# It sends first (no greeting expected), one recv(1024) per message; it never ends by itself
# (the end of its scripted input does, see CHANGED).
#     python3 -u 004_loop_client.py [host] [port]     (default 192.168.11.52 8080; lines on stdin)
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.11.52'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8080  # was ('192.168.11.52',8080)
#买手机
phone=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
#绑定手机卡 客户端没必要绑定所以不用了
#开机 也不用监听了
#等电话链接
phone.connect((HOST, PORT))  # CHANGED: (HOST, PORT)
while True:
    msg=input('请输入:').strip()
    phone.send(msg.encode('utf-8'))
    data=phone.recv(1024)
    print(data.decode('utf-8'))
#关机
phone.close()

#客户端向服务端发送空消息的话 服务端的接收会卡住
