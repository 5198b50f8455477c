# Tutorial 002, §4.1 会发生粘包的两种情况 — the client of 情况一 and 情况二 (the same in both).
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# Two send()s, b'hello' and b'maigc' (the tutorial's spelling), then close.
#     python3 -u 002_case_client.py [host] [port]     (default 192.168.3.21 8000)
# ### 客户端 ###
import socket
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8000  # was ('192.168.3.21', 8000)
sk = socket.socket()
sk.connect((HOST, PORT))  # CHANGED: (HOST, PORT)
sk.send(b'hello')
sk.send(b'maigc')
sk.close()
