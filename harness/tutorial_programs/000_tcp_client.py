# Tutorial 000 (14、python网络编程之Socket), §二.1 套接字基于tcp协议的工作流程 — 客户端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
#     python3 -u 000_tcp_client.py [host] [port]     (default 127.0.0.1 9939)
#!/usr/bin/env python3
# -*- coding:utf-8 -*-
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9939    # CHANGED
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM) # 网络类型基于tcp的流式协议的套接字对象
client.connect((host, port)) # 连接服务端  # CHANGED: was ('127.0.0.1', 9939)
client.send('hello socket'.encode('utf-8'))
data = client.recv(1024)
print(data.decode('utf-8'))
client.close()
