"""What the measuring scripts (measure-gateway.py, soak.py, kills.py) share: a free loopback
port, and VE.Direct text blocks as a device sends them (vedirect-3.34.pdf p.5: the bytes of a
block, checksum byte included, sum to 0 mod 256)."""
import socket


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def vedirect_block(fields):
    """`[(label, value), …]` → one text block with its checksum."""
    body = b"".join(b"\r\n" + k.encode() + b"\t" + v.encode() for k, v in fields) + b"\r\nChecksum\t"
    return body + bytes([(-sum(body)) % 256])
