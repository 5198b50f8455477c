# Tutorial 004 (Socket / 网络通信标准—网络协议 …), socket编程 — the first 服务端 (买手机 … 关机).
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# One client: one recv(1024), printed, sent back upper-cased.
#     python3 -u 004_phone_server.py [host] [port]     (default 127.0.0.1 8080; port 0 = any free port)
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8080  # was ('127.0.0.1',8080)
#买手机
phone=socket.socket(socket.AF_INET,socket.SOCK_STREAM) # 打开了这个服务端最后要关闭
#绑定手机卡
phone.bind((HOST, PORT))#127.0.0.1指的就是自己这台机器的IP地址  # CHANGED: (HOST, PORT)
#开机
phone.listen(5)#5代表最大挂起的链接数
print("listening on %s:%d" % phone.getsockname(), flush=True)  # CHANGED: the ready line
#等电话链接
conn,addr=phone.accept() # 等待建立链接accept()等待建立
print('客户端IP:%s,客户端端口:%s'%(addr[0],addr[1]))
data=conn.recv(1024) #最大收1024 recv()接受数据,括号内最大接收量
print(data.decode('utf-8'))
conn.send(data.upper()) # send()发送数据
#6、挂电话
conn.close() # 建立的链接要关闭
#7.关机
phone.close()
