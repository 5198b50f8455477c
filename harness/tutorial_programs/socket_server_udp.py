# Tutorial 001, UDP通信实例 — 服务端socket_server_udp.py.
# A faithful copy: the same recv() sizes, the same strings. It never answers: it prints each
# datagram, for ever. Changed only where a test needs it; every change is marked "# CHANGED:".
#     python3 -u socket_server_udp.py [host] [port]     (default 127.0.0.1 8888; port 0 = any free port)
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever

# 创建实例  并指定udp参数
sk = socket.socket(type=socket.SOCK_DGRAM)
# 定义绑定的ip和port
ip_port = (sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1',  # CHANGED: address from argv,
           int(sys.argv[2]) if len(sys.argv) > 2 else 8888)     # was ('127.0.0.1',8888)
# 绑定监听
sk.bind(ip_port)
print("listening on %s:%d (udp)" % sk.getsockname(), flush=True)  # CHANGED: the ready line
print("正在等待接收数据")
# 循环接收数据
while True:
    # 接收数据
    data = sk.recv(1024)
    # 打印数据
    print(data.decode())
