# Tutorial 002, §4.2 怎么解决粘包 — 解决方案2(进阶), 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: one recv(1024) is a bare command; the answer is struct.pack('i', n) — 4 bytes
# in this machine's byte order (little-endian on x86) — in one send(), the data in a second.
# DANGER: it runs any command it is sent; it binds the address it is given (use 127.0.0.1).
#     python3 -u 002_fix2_server.py [host] [port]     (default 192.168.3.21 8008; port 0 = any free port)
# ### 服务端 ###
import socket
import subprocess
import struct
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8008  # was ('192.168.3.21', 8008)
server = socket.socket()
server.bind((HOST, PORT))  # CHANGED: (HOST, PORT)
server.listen(5)
print("listening on %s:%d" % server.getsockname(), flush=True)  # CHANGED: the ready line
while 1:
    print("server is working")
    conn, addr = server.accept() # 阻塞:永远等待连接
    # 字节类型
    while 1:
        # 针对windows系统
        try:
            cmd = conn.recv(1024).decode('utf-8') # 阻塞:永远等待接收
            if cmd == b'exit':
                break
            res = subprocess.Popen(cmd,
                                   shell=True,
                                   stderr=subprocess.PIPE,
                                   stdout=subprocess.PIPE,
                                   )
            # print("stdout:", res.stdout.read())
            # print("stderr:", res.stderr.read())
            out = res.stdout.read() # read()代表拿出来,拿出来就是空,,只能拿出来一次
            err = res.stderr.read()
            # 终端获取到的是gbk编码, 并且这里send发送的不能为空
            print("响应长度- out:%d err:%d" % (len(out), len(err)))
            if err:
                # 构建报头
                header_back = struct.pack('i', len(err))
                # 发送报头
                conn.send(header_back)
                # 发送数据
                conn.send(err)
            else:
                # 构建报头
                header_back = struct.pack('i', len(out))
                # 发送报头
                conn.send(header_back)
                # 发送数据
                conn.send(out)
        except ConnectionResetError:
            break
    conn.close()
