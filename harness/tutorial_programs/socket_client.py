# Tutorial 001, 简单的信息交互实例(tcp) — 客户端:socket_client.py.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# It expects a greeting: recv and print first, then input and send; 'exit' ends it.
#     python3 -u socket_client.py [host] [port]     (default 127.0.0.1 8888; lines on stdin)
import socket
import os, sys  # CHANGED: for the address and the time limit below
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
# 服务端为TCP方式,客户端也采用TCP方式,默认参数即为TCP
client = socket.socket()
# 访问服务器的IP和端口
ip_port= (sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1',  # CHANGED: address from argv,
          int(sys.argv[2]) if len(sys.argv) > 2 else 8888)     # was ('127.0.0.1', 8888)
# 连接主机
client.connect(ip_port)
# 定义发送循环信息
while True:
	# 接收主机信息 每次接收缓冲区1024个字节
	data = client.recv(1024)
	# 打印接收数据
	print(data.decode())
	msg_input = input("请输入发送的消息:")
	client.send(msg_input.encode())
	if msg_input =='exit':
		break
