# Tutorial 001, 文件传输实例 — 文件发送端(客户端)file_send.py.
# Used by the interop tests and by harness/bench/bench_07_file_transfer.py (the per-line + ack baseline).
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: the file line by line, each line one send() answered by b'success'; then b'quit'.
#     python3 -u file_send.py FILE [host] [port]     (default 127.0.0.1 9999)
import socket
import os, sys  # CHANGED: for the file, the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
path = sys.argv[1]  # CHANGED: the file from argv (was 'D:\socket_server_tcp2.py')

# 实例化
sk = socket.socket()
# 定义连接的ip和port
ip_port = (sys.argv[2] if len(sys.argv) > 2 else '127.0.0.1',  # CHANGED: address from argv,
           int(sys.argv[3]) if len(sys.argv) > 3 else 9999)     # was ('127.0.0.1',9999)
# 服务器连接
sk.connect(ip_port)
# 文件上传
# 打开文件
with open(path,'rb') as f:  # CHANGED: path
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
