# Tutorial 000 (14、python网络编程之Socket), §二.1 套接字基于tcp协议的工作流程 — 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
#     python3 -u 000_tcp_server.py [host] [port]     (default 127.0.0.1 9939; port 0 = any free port)
#!/usr/bin/env python3
# -*- coding:utf-8 -*-
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9939    # CHANGED
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM) # 网络类型基于tcp的流式协议的套接字对象
server.bind((host, port)) # 绑定IP+PORT  # CHANGED: was ('127.0.0.1', 9939)
server.listen(5) # 设置半连接池大小
print("listening on %s:%d" % server.getsockname(), flush=True)  # CHANGED: the ready line
connect, client_addr = server.accept() # 进入监听状态, 拿到连接和客户端地址
print(client_addr)
data = connect.recv(1024) # 接收数据,最大接收1024Bytes
connect.send(data.upper()) # 返回数据,原数据大写后返回
connect.close() # 关闭连接
