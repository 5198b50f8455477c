# Tutorial 002, §4.1 会发生粘包的两种情况 — 情况二 接收方的缓存机制, 服务端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# One connection, recv(2) then recv(10), both printed. Its partner: 002_case_client.py.
#     python3 -u 002_case2_server.py [host] [port]     (default 192.168.3.21 8000; port 0 = any free port)
# ### 服务端 ###
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000  # was ('192.168.3.21', 8000)
server = socket.socket()
server.bind((HOST, PORT))  # CHANGED: (HOST, PORT)
server.listen(5)
print("listening on %s:%d" % server.getsockname(), flush=True)  # CHANGED: the ready line
conn, adrr = server.accept()
data1 = conn.recv(2) # 这里一次没接完
data2 = conn.recv(10) # 这里继续接剩下的
print('----->', data1.decode('utf-8')) # -----> he
print('----->', data2.decode('utf-8')) # -----> llomaigc
conn.close()
