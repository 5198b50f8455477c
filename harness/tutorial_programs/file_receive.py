# Tutorial 001, 文件传输实例 — 文件接收端(服务端)file_receive.py.
# Used by the interop tests and by harness/bench/bench_07_file_transfer.py (the per-line + ack baseline).
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: every recv(1024) is appended to the file and answered b'success'; a chunk
# b'quit' ends the transfer. No name, no size: whatever arrives is "the file".
#     python3 -u file_receive.py [host] [port] [output]   (default 127.0.0.1 9999 file; port 0 = any free port)
import socket
import os, sys  # CHANGED: for the address, the output file and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
output = sys.argv[3] if len(sys.argv) > 3 else 'file'  # CHANGED: the output file from argv (was 'file')

# 实例化
sk = socket.socket()
# 定义连接的ip和port
ip_port = (sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1',  # CHANGED: address from argv,
           int(sys.argv[2]) if len(sys.argv) > 2 else 9999)     # was ('127.0.0.1',9999)
# 绑定端口
sk.bind(ip_port)
# 最大连接数
sk.listen(5)
print("listening on %s:%d" % sk.getsockname(), flush=True)  # CHANGED: the ready line
# 进入循环接收数据
conn, address = sk.accept()
print("文件接收开始")
while True:
    with open(output,'ab') as f:  # CHANGED: output, was 'file'
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
