# Tutorial 002, §1 客户端异常退出 — 例1, 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: no greeting; every recv(1024) is answered with the same bytes + b' SB'; b'exit' ends.
#     python3 -u 002_ex1_server.py [host] [port]     (default 192.168.3.21 8000; port 0 = any free port)
# ### 服务端 ###
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000  # was ('192.168.3.21', 8000)
server = socket.socket() # 创建服务端对象
server.bind((HOST, PORT)) # 绑定ip和端口  # CHANGED: (HOST, PORT)
server.listen(5) # 后面可以排队客户端数目
print("listening on %s:%d" % server.getsockname(), flush=True)  # CHANGED: the ready line
while 1:
    print("server is working")
    conn, addr = server.accept() # 阻塞:永远等待连接
    # 字节类型
    while 1:
        data = conn.recv(1024) # 阻塞:永远等待接收
        if data == b'exit':
            break
        response = data + b' SB'
        conn.send(response)
    conn.close() # 与客户端断开连接(放开那把伞)
