# A raw control-channel client for the specs: connect to PATH, send the
# bytes given in hex (or a framed message TYPE PAYLOAD), print the replies'
# types and payloads, one per line, until the target closes or goes quiet.
import socket, struct, sys
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
if mode == "raw":
    s.sendall(bytes.fromhex(sys.argv[3]))
else:
    body = sys.argv[3].encode() + sys.argv[4].encode()
    try:
        s.sendall(struct.pack("<I", len(body)) + body)
    except BrokenPipeError:
        pass  # refused at once: the reply is still there to read
s.settimeout(0.5 if mode == "raw" else 10)  # a reply to a message comes, even on a busy machine
buf = b""
got = False
try:
    while True:
        d = s.recv(65536)
        if not d: break
        buf += d
        while len(buf) >= 5:
            n = struct.unpack("<I", buf[:4])[0]
            if len(buf) < 4 + n: break
            print(chr(buf[4]), buf[5:4 + n].decode(errors="replace").replace("\n", "\\n"))
            buf = buf[4 + n:]
            got = True
        if mode != "raw" and got: break  # a whole reply (it may come in pieces)
except socket.timeout:
    pass
except ConnectionResetError:
    d = b""
print("closed" if not d else "open")
