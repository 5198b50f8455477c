# Tutorial 000 (14、python网络编程之Socket), §三 基于tcp实现远程命令 — 客户端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# The commands come from stdin, one per line (what input() reads); end of input ends it.
#     python3 -u 000_cmd_client.py [host] [port]     (default 127.0.0.1 9939)
#!/usr/bin/env python3
# -*- coding:utf-8 -*-
from socket import *
import os, sys  # CHANGED: for the address and the time limit below
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9939    # CHANGED
client = socket(AF_INET, SOCK_STREAM)
client.connect((host, port))  # CHANGED: was ('127.0.0.1', 9939)
while True:
    cmd = input('请输入命令:').strip()
    if not cmd:
        continue
    client.send(cmd.encode('utf-8'))
    cmd_res = client.recv(1024)
    print(cmd_res.decode('gbk')) # windows系统默认以gbk编码,所以使用gbk解码,linux使用utf-8进行解码
