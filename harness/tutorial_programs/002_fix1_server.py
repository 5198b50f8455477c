# Tutorial 002, §4.2 怎么解决粘包 — 解决方案1, 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Its protocol: one recv(1024) is a bare command; the answer is str(len(ret)) as bare digits,
# then it waits for b'recv_ready' and sends stderr if there is any, else stdout.
# DANGER: it runs any command it is sent; it binds the address it is given (use 127.0.0.1).
#     python3 -u 002_fix1_server.py [host] [port]     (default 127.0.0.1 8080; port 0 = any free port)
# ### 服务端 ###
import socket,subprocess
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8080  # was ('127.0.0.1',8080)
ip_port=(HOST, PORT)  # CHANGED: was ('127.0.0.1',8080)
s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(ip_port)
s.listen(5)
print("listening on %s:%d" % s.getsockname(), flush=True)  # CHANGED: the ready line
while True:
    conn,addr=s.accept()
    print('客户端',addr)
    while True:
        msg=conn.recv(1024)
        if not msg:break
        res=subprocess.Popen(msg.decode('utf-8'),shell=True,\
                             stdin=subprocess.PIPE,\
                             stderr=subprocess.PIPE,\
                             stdout=subprocess.PIPE)
        err=res.stderr.read()
        if err:
            ret=err
        else:
            ret=res.stdout.read()
        data_length=len(ret)
        conn.send(str(data_length).encode('utf-8'))
        data=conn.recv(1024).decode('utf-8')
        if data == 'recv_ready':
            conn.sendall(ret)
    conn.close()
