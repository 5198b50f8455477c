# Tutorial 003 (一. Socket介绍 …), §二.5 例子 — 服务端 (the win10 side).
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# One client: one recv(1024), printed; the answer is always '我是服务端'.
#     python3 -u 003_server.py [host] [port]     (default 172.40.66.163 8001; port 0 = any free port)
# 服务端
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '172.40.66.163'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8001  # was ('172.40.66.163', 8001)

# 创建了一个基于ipv4的,tcp协议的的socket对象
service = socket.socket() # 建立socket TCP连接,实例化为sock

service.bind((HOST, PORT)) # 绑定本地(服务端)IP,以及对应的端口  # CHANGED: (HOST, PORT)

''' 你也可以这样写 client.bind(('0.0.0.0', 8001))
0.0.0.0表示绑定服务端上所有网卡的IP
'''

service.listen(5) # 开启监听模式
print("listening on %s:%d" % service.getsockname(), flush=True)  # CHANGED: the ready line

# 接收客户端的连接,创建socket连接对象,并且返回客户端的连接地址信息
connection, address = service.accept() # 通过accept来等待客户端的信息

data = connection.recv(1024) # 接收客户端发送的消息,1024指每次接收数据量的大小

# 输出客户端发来的消息
print(data.decode()) # 使用decode是因为通过sock传入的是bytes类型的数据,需要解码才能正确显示

# 向客户端发送消息
connection.send('我是服务端'.encode()) # 这个 "我是服务端" 是个字符串,我们需要encode一下

connection.close()
