"""The tutorial's file sender (001 文件传输实例, file_send.py), kept as written.

Only change: the file, host and port come from the command line
(the tutorial hard-codes 'D:\\socket_server_tcp2.py' and 127.0.0.1 9999).
Used by harness/bench_07_file_transfer.py as the per-line + ack baseline.

    python3 file_send.py FILE [host] [port]
"""
import socket
import sys

path = sys.argv[1]
host = sys.argv[2] if len(sys.argv) > 2 else '127.0.0.1'
port = int(sys.argv[3]) if len(sys.argv) > 3 else 9999

# 实例化
sk = socket.socket()
# 定义连接的ip和port
ip_port = (host, port)
# 服务器连接
sk.connect(ip_port)
# 文件上传
# 打开文件
with open(path, 'rb') as f:
    # 按每一段分割文件上传
    for i in f:
        sk.send(i)
        # 等待接收完成标志
        data=sk.recv(1024)
        # 判断是否真正接收完成
        if data != b'success':
            break
# 给服务端发送结束信号
sk.send('quit'.encode())
