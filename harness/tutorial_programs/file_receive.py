"""The tutorial's file receiver (001 文件传输实例, file_receive.py), kept as written.

Only changes: host, port and output file come from the command line
(default 127.0.0.1 9999 'file', the tutorial's values), and after listen() it
prints "listening on HOST:PORT" so the benchmark can use port 0.
Used by harness/bench_07_file_transfer.py as the per-line + ack baseline.

    python3 file_receive.py [host] [port] [output]
"""
import socket
import sys

host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9999
output = sys.argv[3] if len(sys.argv) > 3 else 'file'

# 实例化
sk = socket.socket()
# 定义连接的ip和port
ip_port = (host, port)
# 绑定端口
sk.bind(ip_port)
# 最大连接数
sk.listen(5)
print("listening on %s:%d" % sk.getsockname(), flush=True)
# 进入循环接收数据
conn, address = sk.accept()
print("文件接收开始")
while True:
    with open(output, 'ab') as f:
        # 接收数据
        data = conn.recv(1024)
        if data == b'quit':
            break
        # 写入文件
        f.write(data)
        # 接受完成标志
        conn.send('success'.encode())
print("文件接收完成")
# 关闭连接
sk.close()
