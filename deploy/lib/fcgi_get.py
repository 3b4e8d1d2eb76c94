#!/usr/bin/env python3
"""fcgi_get.py HOST PORT PATH: one FastCGI GET, its body on stdout.

deploy/lemmp status reads each cppfpm node's status page (`accepted conn`)
with it, straight from the node: no nginx in between.
"""
import socket
import struct
import sys


def record(kind, content, request_id=1):
    return struct.pack("!BBHHBx", 1, kind, request_id, len(content), 0) + content


def pair(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    script, _, query = path.partition("?")
    params = {"SCRIPT_NAME": script, "SCRIPT_FILENAME": script, "REQUEST_URI": path,
              "QUERY_STRING": query, "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1",
              "GATEWAY_INTERFACE": "CGI/1.1", "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "lemmp"}
    body = b"".join(pair(k.encode(), v.encode()) for k, v in params.items())
    out = record(1, struct.pack("!HB5x", 1, 0)) + record(4, body) + record(4, b"") + record(5, b"")
    with socket.create_connection((host, port), timeout=3) as s:
        s.sendall(out)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\x01\x03\x00\x01" in data:  # FCGI_END_REQUEST for request 1
                break
    stdout = b""
    while len(data) >= 8:
        _, kind, _, n, pad = struct.unpack("!BBHHB", data[:7])
        if kind == 6:
            stdout += data[8:8 + n]
        data = data[8 + n + pad:]
    head, _, payload = stdout.partition(b"\r\n\r\n")
    sys.stdout.write(payload.decode("utf-8", "replace"))


if __name__ == "__main__":
    main()
