"""A tiny DNS responder for bench/resolver-check (UDP, 127.0.0.1:53): logs
every question to the file named by argv[1]; answers A 127.0.0.1 for
reg.bench.test, reg.corp.bench.test and proxy.bench.test, only AAAA ::1 for
v6only.bench.test, SERVFAIL for anything under broken.bench.test, NXDOMAIN
for the rest."""
import socket, struct, sys
log = open(sys.argv[1], "a", buffering=1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    data, peer = s.recvfrom(4096)
    tid, flags, qd = struct.unpack("!HHH", data[:6])
    i, labels = 12, []
    while data[i]:
        labels.append(data[i + 1:i + 1 + data[i]].decode()); i += data[i] + 1
    qtype = struct.unpack("!H", data[i + 1:i + 3])[0]
    question = data[12:i + 5]
    name = ".".join(labels).lower()
    tname = {1: "A", 28: "AAAA"}.get(qtype, str(qtype))
    log.write(f"{tname} {name}\n")
    ans = b""
    rcode = 3
    if name.endswith("broken.bench.test"):
        rcode = 2  # SERVFAIL: a search domain whose server is broken
    elif name in ("reg.bench.test", "reg.corp.bench.test", "v6only.bench.test", "proxy.bench.test"):
        rcode = 0
        if qtype == 1 and not name.startswith("v6only."):
            ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton("127.0.0.1")
        if qtype == 28 and name.startswith("v6only."):
            ans = b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 5, 16) + socket.inet_pton(socket.AF_INET6, "::1")
    hdr = struct.pack("!HHHHHH", tid, 0x8180 | rcode, 1, 1 if ans else 0, 0, 0)
    s.sendto(hdr + question + ans, peer)
