#!/usr/bin/env python3
"""Runs the installed logrotate rule once against a running cppfpm.

Usage: logrotate_check.py HOST:PORT LOGDIR LOGROTATE_RULE STATE_FILE

Requests go to cppfpm over FastCGI (a client written here) from a thread
that keeps sending them before, during and after `logrotate -f`; every
request that got an answer must then be in the access log (the rotated file
or the new one) exactly once, and the error log must go on in the new file.
Exit 0 when nothing was lost, 1 with the reasons otherwise.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def record(kind, request_id, content=b""):
    return struct.pack("!BBHHBx", 1, kind, request_id, len(content), 0) + content


def name_value(name, value):
    def length(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def fcgi_get(address, script, query, timeout=10.0):
    """One FastCGI GET; returns the HTTP status cppfpm answered."""
    host, port = address
    params = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": script, "SCRIPT_FILENAME": "/srv" + script,
        "REQUEST_URI": script + ("?" + query if query else ""), "QUERY_STRING": query,
        "DOCUMENT_URI": script, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "GATEWAY_INTERFACE": "CGI/1.1",
    }
    body = b"".join(name_value(k, v) for k, v in params.items())
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(record(FCGI_BEGIN, 1, struct.pack("!HB5x", 1, 0)) + record(FCGI_PARAMS, 1, body)
                  + record(FCGI_PARAMS, 1) + record(FCGI_STDIN, 1))
        data, out = b"", b""
        while True:
            while len(data) < 8:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("cppfpm closed before FCGI_END_REQUEST")
                data += chunk
            _, kind, _, length, padding = struct.unpack("!BBHHBx", data[:8])
            while len(data) < 8 + length + padding:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("cppfpm closed inside a record")
                data += chunk
            content, data = data[8:8 + length], data[8 + length + padding:]
            if kind == FCGI_STDOUT:
                out += content
            elif kind == FCGI_END:
                break
    match = re.search(rb"^Status: (\d+)", out, re.M)
    return int(match.group(1)) if match else 200


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    address = (host, int(port))
    logdir, rule, state = sys.argv[2], sys.argv[3], sys.argv[4]
    access, error = os.path.join(logdir, "www.access.log"), os.path.join(logdir, "cppfpm.log")
    answered, failures = [], []
    stop = threading.Event()

    def load():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                fcgi_get(address, "/logrotate-check.php", "n=%d" % n)
                answered.append(n)
            except OSError as e:
                failures.append("request %d: %s" % (n, e))
            time.sleep(0.005)

    # Before: the pages that touch MariaDB make the children log (the
    # outage line, when nothing answers on the configured port).
    fcgi_get(address, "/testMySQL.php", "")
    worker = threading.Thread(target=load)
    worker.start()
    deadline = time.time() + 10
    while len(answered) < 50 and time.time() < deadline:
        time.sleep(0.05)
    before = len(answered)
    rotated = subprocess.run(["logrotate", "-v", "-f", "-s", state, rule], capture_output=True, text=True)
    print("logrotate exit %d" % rotated.returncode)
    # logrotate -v says much; what it renamed and ran is what matters here.
    for line in rotated.stderr.splitlines():
        if line.startswith(("renaming /var/log/cppfpm/cppfpm.log to", "renaming /var/log/cppfpm/www.access.log to",
                            "running postrotate")) or "error" in line:
            print("  " + line)
    # After: until the master reopened and fresh children answer (USR1
    # replaces them gracefully), then more requests on top.
    deadline = time.time() + 20
    while time.time() < deadline and "error log file re-opened" not in read(error):
        time.sleep(0.1)
    target = len(answered) + 100
    while len(answered) < target and time.time() < deadline:
        time.sleep(0.05)
    fcgi_get(address, "/testMySQL.php", "")
    stop.set()
    worker.join()
    print("requests answered: %d (%d before logrotate ran), failed: %d" % (len(answered), before, len(failures)))

    problems = []
    if rotated.returncode != 0:
        problems.append("logrotate failed: " + rotated.stderr.strip())
    if failures:
        problems.append("%d requests failed, first: %s" % (len(failures), failures[0]))
    if not os.path.exists(access + ".1") or not os.path.exists(error + ".1"):
        problems.append("logrotate did not rotate: %s" % sorted(os.listdir(logdir)))

    # Every answered request in old + new access log, exactly once: the
    # line may follow the answer by a moment, so wait for it.
    pattern = re.compile(r"/logrotate-check\.php\?n=(\d+)")
    deadline = time.time() + 15
    while True:
        old, new = read(access + ".1"), read(access)
        seen = [int(m) for m in pattern.findall(old + new)]
        missing = sorted(set(answered) - set(seen))
        if not missing or time.time() > deadline:
            break
        time.sleep(0.2)
    duplicates = len(seen) - len(set(seen))
    in_new = len(pattern.findall(new))
    print("access log: %d lines in the rotated file, %d in the new one, %d missing, %d twice"
          % (len(pattern.findall(old)), in_new, len(missing), duplicates))
    if missing:
        problems.append("%d answered requests missing from the access logs, e.g. n=%s" % (len(missing), missing[:10]))
    if duplicates:
        problems.append("%d requests logged twice" % duplicates)
    if in_new == 0:
        problems.append("no access log line reached the new file")

    old_error, new_error = read(error + ".1"), read(error)
    print("error log, rotated file: %d lines; new file:\n%s" % (len(old_error.splitlines()), new_error))
    for line in ("error log file re-opened", "access log file re-opened"):
        if line not in new_error:
            problems.append("the new error log lacks %r" % line)
        if line in old_error:
            problems.append("%r went to the rotated error log" % line)
    if not re.search(r"child \d+ started", new_error):
        problems.append("no 'child N started' line (the children replaced after USR1) in the new error log")
    child_line = "MariaDB connection failed"
    if child_line in old_error and child_line not in new_error:
        problems.append("a child logged %r before the rotation but not after it" % child_line)

    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
