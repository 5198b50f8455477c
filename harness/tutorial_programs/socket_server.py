# Tutorial 001, 简单的信息交互实例(tcp) — 服务端:socket_server.py.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: greeting "连接成功" (no newline), then every recv(1024) is echoed unchanged,
# and a chunk b'exit' ends the session.
#     python3 -u socket_server.py [host] [port]     (default 127.0.0.1 8888; port 0 = any free port)
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever

# 默认tcp方式传输
sk = socket.socket()
# 绑定IP与端口
ip_port = (sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1',  # CHANGED: address from argv,
           int(sys.argv[2]) if len(sys.argv) > 2 else 8888)     # was ('127.0.0.1', 8888)
# 绑定监听
sk.bind(ip_port)
# 最大连接数
sk.listen(5)
print("listening on %s:%d" % sk.getsockname(), flush=True)  # CHANGED: the ready line
# 不断循环接收数据
while True:
    # 提示信息
    print("正在等待接收数据。。。。。。。")
    # 接收数据  连接对象和客户地址
    conn, address = sk.accept()
    # 定义信息
    msg = "连接成功"
    # 返回信息。注意:python3.X以上,网络数据的发送和接收都是byte类型,如果发送的数据是str型,则需要进行编码
    conn.send(msg.encode())
    # 不断接收客户发来的消息
    while True:
        # 接收客户端消息
        data = conn.recv(1024)
        print(data.decode())
        # 接收到退出指令
        if data == b'exit':
            break
        # 处理客户端信息,本实例直接将接收到的消息重新嘎松回去
        conn.send(data)
    # 主动关闭连接
    conn.close()
