# Tutorial 004 (Socket / 网络通信标准—网络协议 …), socket编程 — 持续性数据的交互,还有排队的进行链接: 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: no greeting; every recv(1024) is printed and sent back upper-cased; the
# session ends when recv returns b'' (链接循环 + 通信循环). 'exit' is a message like any other.
#     python3 -u 004_loop_server.py [host] [port]     (default 192.168.11.52 8080; port 0 = any free port)
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.11.52'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8080  # was ('192.168.11.52',8080)
#买手机
phone=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
#绑定手机卡
phone.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
phone.bind((HOST, PORT))#127.0.0.1指的就是自己这台机器的IP地址  # CHANGED: (HOST, PORT)
#开机
phone.listen(5)#5代表最大挂起的链接数
print("listening on %s:%d" % phone.getsockname(), flush=True)  # CHANGED: the ready line
#等电话链接
print('starting...')
while True: #链接循环
    conn,addr=phone.accept()
    print('客户端IP:%s,客户端端口:%s'%(addr[0],addr[1]))
    while True: #通信循环
        try: #用到try是因为有时候会发生但无法预知的错误
            data=conn.recv(1024) #最大收1024
            if not data:break #针对linux
            print(data.decode('utf-8'))
            conn.send(data.upper())
        except ConnectionResetError:
            break
    #6、挂电话
    conn.close() #断开连接
#7.关机
phone.close()
