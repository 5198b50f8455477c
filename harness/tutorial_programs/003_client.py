# Tutorial 003 (一. Socket介绍 …), §二.5 例子 — 客户端 (the kali linux side).
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Sends '我是客户端', prints one recv(1024).
#     python3 -u 003_client.py [host] [port]     (default 172.40.66.163 8001)
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '172.40.66.163'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8001  # was ('172.40.66.163', 8001)

client = socket.socket() # 默认TCP连接

client.connect((HOST, PORT)) # 服务端IP,以及服务端开放的端口  # CHANGED: (HOST, PORT)

# 向服务端发送消息
client.send('我是客户端'.encode()) # 这个 "我是客户端" 是个字符串,我们需要encode一下

data = client.recv(1024) # 接受服务端发来的消息

print(data.decode()) # 打印从服务端发来的消息

client.close() # 关闭
