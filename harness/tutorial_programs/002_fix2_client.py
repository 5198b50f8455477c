# Tutorial 002, §4.2 怎么解决粘包 — 解决方案2(进阶), 客户端.
# A faithful copy: the same bytes in the same send() calls, the same recv() sizes, the same
# strings. Changed only where a test needs it; every change is marked "# CHANGED:".
# It sends the bare command, reads a 4-byte struct.unpack('i') length, prints it
# ("data_size N"), then recv(1024) until it has N bytes; 'exit' ends it.
#     python3 -u 002_fix2_client.py [host] [port]     (default 192.168.3.21 8008; commands on stdin)
# ### 客户端 ###
import socket
import struct
import os, sys  # CHANGED: for the address and the time limit below
socket.setdefaulttimeout(float(os.environ.get('SOCKETLAB_PEER_TIMEOUT', '20')))  # CHANGED: no wait lasts for ever
from scripted_input import input  # CHANGED: input() reads the test's script on stdin; its end ends the program
HOST = sys.argv[1] if len(sys.argv) > 1 else '192.168.3.21'  # CHANGED: address from argv,
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8008  # was ('192.168.3.21', 8008)
sk = socket.socket()
sk.connect((HOST, PORT))  # CHANGED: (HOST, PORT)
while 1:
    cmd = input("请输入命令:")
    sk.send(cmd.encode('utf-8')) # 字节
    if cmd == "":
        continue
    if cmd == 'exit':
        break
    # 发过来的两个数据发生粘包, 但是我只取前四个字节(报头)
    head_pack = sk.recv(4)
    # 解包得到元组(长度,) 取索引0
    data_size = struct.unpack('i', head_pack)[0]
    print("data_size", data_size)
    recv_data_length = 0 # 接收到的数据的长度累积
    response_data = b"" # 接收到的字节都叠加放入
    # 取了四个字节的报头,剩下的数据也要循环取出,累加到定义的空字节中
    while recv_data_length < data_size:
        # 一次收到的数据(字节)
        data = sk.recv(1024)
        # 把数据叠加
        response_data += data
        # 数据长度叠加(这里不加1024,因为后可能还要用到收到的数据长度)
        recv_data_length += len(data)
    print(response_data.decode('gbk'))
sk.close()
