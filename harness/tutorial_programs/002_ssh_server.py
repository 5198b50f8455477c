# Tutorial 002, §2 粘包现象 — 模拟ssh, 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: one recv(1024) is one command; only its stdout goes back, raw, no length.
# DANGER: it runs any command it is sent; it binds the address it is given (use 127.0.0.1).
#     python3 -u 002_ssh_server.py [host] [port]     (default 192.168.3.21 8888; port 0 = any free port)
# ### 服务端 ###
import socket
import subprocess
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8888  # was ('192.168.3.21', 8888)
ip_port = (HOST, PORT)  # CHANGED: was ('192.168.3.21', 8888)
BUFSIZE = 1024
tcp_socket_server = socket.socket()
tcp_socket_server.bind(ip_port)
tcp_socket_server.listen(5)
print("listening on %s:%d" % tcp_socket_server.getsockname(), flush=True)  # CHANGED: the ready line
while True:
    conn,addr=tcp_socket_server.accept()
    print('客户端',addr,conn)
    while True:
        cmd=conn.recv(BUFSIZE)
        print("接收到的命令:%s" % cmd.decode('utf-8'))
        if len(cmd) == 0:
            break
        res=subprocess.Popen(cmd.decode('utf-8'),
                             shell=True,
                             stdout=subprocess.PIPE,
                             stdin=subprocess.PIPE,
                             stderr=subprocess.PIPE
                             )
        stderr = res.stderr.read()
        stdout = res.stdout.read()
        conn.send(stdout)
