# Tutorial 000 (14、python网络编程之Socket), §三 基于tcp实现远程命令 — 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# DANGER: it runs any command it is sent; it binds the address it is given (use 127.0.0.1).
#     python3 -u 000_cmd_server.py [host] [port]     (default 127.0.0.1 9939; port 0 = any free port)
#!/usr/bin/env python3
# -*- coding:utf-8 -*-
import subprocess
from socket import *
import os, sys  # CHANGED: for the address and the time limit below
setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9939    # CHANGED
server = socket(AF_INET, SOCK_STREAM)
server.bind((host, port))  # CHANGED: was ('127.0.0.1', 9939)
server.listen(5)
print("listening on %s:%d" % server.getsockname(), flush=True)  # CHANGED: the ready line
while True:
    connect, client_addr = server.accept()
    while True:
        try:
            cmd = connect.recv(1024)
            if not cmd:
                break
            obj = subprocess.Popen(cmd.decode('utf-8'), shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out = obj.stdout.read()
            err = obj.stderr.read()
            connect.send(out)
            connect.send(err)
        except Exception:
            break
    connect.close()
