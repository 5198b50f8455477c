# Tutorial 001, UDP通信实例 — 客户端socket_client_udp.
# A faithful copy: the same bytes in the same sendto() calls, the same strings. It never
# reads a reply. Its `msg_input == b'exit'` compares a str with bytes and is never true, so
# 'exit' is sent like any other line; only the end of input stops it (see CHANGED below).
# Changed only where a test needs it; every change is marked "# CHANGED:".
#     python3 -u socket_client_udp.py [host] [port]     (default 127.0.0.1 8888; lines on stdin)
import socket
import os, sys  # CHANGED: for the address and the time limit below
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
# 实例化对象
sk = socket.socket(type=socket.SOCK_DGRAM)
# 定义需要连接的的ip和port
ip_port = (sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1',  # CHANGED: address from argv,
           int(sys.argv[2]) if len(sys.argv) > 2 else 8888)     # was ('127.0.0.1',8888)
# 循环输入数据
while True:
    # 输入发送的信息
    msg_input = input("请输入发送的消息:")
    # 接收到退出指令
    if msg_input == b'exit':
        break
    # 与tcp不同 udp使用sendto函数来发送消息
    sk.sendto(msg_input.encode(),ip_port)
sk.close()
