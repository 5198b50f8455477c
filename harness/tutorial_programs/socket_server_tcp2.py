# Tutorial 001, 非堵塞型信息交互实例(tcp) — socket_server_tcp2.py,
# the tutorial's threaded server (socketserver.ThreadingTCPServer). Used by the interop tests and
# by harness/bench/bench_03_loop_server.py, which measures it against 03_loop_server/threaded_server.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: greeting "Hello World!" (no newline), then every recv(1024) chunk is echoed
# unchanged, and a chunk b'exit' ends the session.
#     python3 -u socket_server_tcp2.py [host] [port]     (default 127.0.0.1 8888; port 0 = any free port)
import os, sys  # CHANGED: for the address and the time limit below
import socket   # CHANGED: for the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever

# 非阻塞模块
import socketserver
# 首先我们需要定义一个类
class my_socket_server(socketserver.BaseRequestHandler):
    # 首先执行setup方法,然后执行handle方法,最后执行finish方法
    # 如果handle方法报错,则会跳过
    # setup与finish无论如何都会执行
    # 一般只定义handle方法即可
    def setup(self):
        pass
    def handle(self):
        # 定义连接变量
        conn = self.request
        # 提示信息
        print("连接成功")
        # 发送消息定义
        msg = "Hello World!"
        # 发送消息
        conn.send(msg.encode())
        # 进入循环,不断接收客户端消息
        while True:
            # 接收客户端消息
            data = conn.recv(1024)
            # 打印消息
            print(data.decode())
            if data ==b'exit':
                break
            conn.send(data)
        conn.close()

    def finish(self):
        pass

if __name__=="__main__":
    # 提示信息
    print("正在等待接收数据。。。。。。")
    # 创建多线程实例
    host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv,
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8888    # was ('127.0.0.1',8888)
    server = socketserver.ThreadingTCPServer((host, port), my_socket_server)
    print("listening on %s:%d" % server.server_address, flush=True)  # CHANGED: the ready line
    # 开启多线程,等待连接
    server.serve_forever()
