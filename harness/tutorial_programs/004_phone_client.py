# Tutorial 004 (Socket / 网络通信标准—网络协议 …), socket编程 — the first 客户端 (sends 'hello').
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
#     python3 -u 004_phone_client.py [host] [port]     (default 127.0.0.1 8080)
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8080  # was ('127.0.0.1',8080)
#买手机
phone=socket.socket(socket.AF_INET,socket.SOCK_STREAM) # 一样打开这个端口
#绑定手机卡 客户端没必要绑定所以不用了
#开机 也不用监听了

phone.connect((HOST, PORT)) # 主动建立链接,前面IP地址后面是端口  # CHANGED: (HOST, PORT)
phone.send('hello'.encode('utf-8')) # 发送数据

data=phone.recv(1024)
print(data.decode('utf-8'))
#关机
phone.close() #同样要关机
