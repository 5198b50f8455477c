# Tutorial 000 (14、python网络编程之Socket), §二.2 套接字基于udp协议的工作流程 — 服务端.
# A faithful copy: the same bytes in the same sendto() calls, the same recvfrom() sizes, the
# same strings. Changed only where a test needs it; every change is marked "# CHANGED:".
#     python3 -u 000_udp_server.py [host] [port]     (default 127.0.0.1 9939; port 0 = any free port)
#!/usr/bin/env python3
# -*- coding:utf-8 -*-
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9939    # CHANGED
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) # 网络类型基于UDP协议的报式套接字对象
server.bind((host, port)) # 绑定IP+PORT  # CHANGED: was ('127.0.0.1', 9939)
print("listening on %s:%d (udp)" % server.getsockname(), flush=True)  # CHANGED: the ready line
data, client_addr = server.recvfrom(1024) # 接收数据,最大接收1024Bytes
print(data.decode('utf-8'))
server.sendto(data.upper(), client_addr) # 返回大写内容数据
server.close() # 关闭连接
