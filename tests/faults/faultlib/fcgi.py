"""A FastCGI client for good requests, and clients that send them steadily.

Records are built with deploy/lib/fcgi_get.py's record() and pair(); this
module adds what a measuring client needs: a timeout, a cookie, the status,
and a name for every way a request can fail."""

import errno
import os
import socket
import statistics
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "deploy", "lib"))
from fcgi_get import pair, record  # noqa: E402

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def request_bytes(path, cookie=None):
    """One whole FastCGI GET (request id 1, no keep-alive)."""
    script, _, query = path.partition("?")
    params = {"SCRIPT_NAME": script, "SCRIPT_FILENAME": script, "REQUEST_URI": path,
              "QUERY_STRING": query, "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1",
              "GATEWAY_INTERFACE": "CGI/1.1", "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "faults"}
    if cookie:
        params["HTTP_COOKIE"] = cookie
    body = b"".join(pair(k.encode(), v.encode()) for k, v in params.items())
    return (record(BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) + record(PARAMS, body) + record(PARAMS, b"")
            + record(STDIN, b""))


def partial_head(declared=1000):
    """The start of a request head that is never finished: a BEGIN_REQUEST
    and a PARAMS record header announcing `declared` bytes, none sent yet."""
    return record(BEGIN_REQUEST, struct.pack("!HB5x", 1, 0)) + struct.pack("!BBHHBx", 1, PARAMS, 1, declared, 0)


class Failed(Exception):
    """A request that got no answer. kind: refused (at connect), reset,
    closed (EOF before the end of the answer), timeout, or error."""

    def __init__(self, kind, seconds, detail=""):
        super().__init__(f"{kind} after {seconds:.3f} s {detail}".strip())
        self.kind, self.seconds = kind, seconds


class Answer:
    def __init__(self, status, headers, body, seconds):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def header(self, name):
        for line in self.headers.split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


def get(port, path, cookie=None, timeout=5.0):
    """One request on a new connection. Returns an Answer or raises Failed."""
    start = time.monotonic()

    def failed(kind, detail=""):
        return Failed(kind, time.monotonic() - start, detail)

    s = socket.socket()
    try:
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            raise failed("refused")
        s.settimeout(max(0.001, timeout - (time.monotonic() - start)))
        s.sendall(request_bytes(path, cookie))
        data = b""
        while not _has_end(data):
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                raise failed("timeout")
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                raise failed("closed")
            data += chunk
    except socket.timeout:
        raise failed("timeout")
    except (ConnectionResetError, BrokenPipeError):
        raise failed("reset")
    except OSError as e:
        if e.errno == errno.ECONNREFUSED:
            raise failed("refused")
        raise failed("error", str(e))
    finally:
        s.close()
    seconds = time.monotonic() - start
    head, _, body = _stdout_of(data).partition(b"\r\n\r\n")
    headers = head.decode("latin-1")
    status = 200
    for line in headers.split("\r\n"):
        if line.lower().startswith("status:"):
            status = int(line.split()[1])
    return Answer(status, headers, body, seconds)


def _records(data):
    while len(data) >= 8:
        _, kind, _, n, pad = struct.unpack("!BBHHB", data[:7])
        if len(data) < 8 + n + pad:
            return
        yield kind, data[8:8 + n]
        data = data[8 + n + pad:]


def _has_end(data):
    return any(kind == END_REQUEST for kind, _ in _records(data))


def _stdout_of(data):
    return b"".join(content for kind, content in _records(data) if kind == STDOUT)


class Sample:
    __slots__ = ("start", "seconds", "ok", "kind")

    def __init__(self, start, seconds, ok, kind):
        self.start, self.seconds, self.ok, self.kind = start, seconds, ok, kind


class SteadyClients:
    """`clients` threads, each sending one request every `every` seconds
    (or as soon as the last one ended, when that took longer), each on a new
    connection, as nginx does without upstream keepalive. A request counts
    as good when answered 200; anything else is counted by its kind.

    `sessions`: each thread takes session i % sessions: it starts without a
    cookie and keeps the PHPSESSID the server sets (pages that take one)."""

    def __init__(self, port, path, clients=2, every=0.05, timeout=5.0, sessions=0):
        self.port, self.path, self.every, self.timeout = port, path, every, timeout
        self.samples = []
        self.cookies = {}
        self.sessions = sessions
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(clients)]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 2)

    def _loop(self, index):
        session = index % self.sessions if self.sessions else None
        while not self._stop.is_set():
            start = time.monotonic()
            cookie = self.cookies.get(session) if session is not None else None
            try:
                answer = get(self.port, self.path, cookie=cookie, timeout=self.timeout)
                ok = answer.status == 200
                self.samples.append(Sample(start, answer.seconds, ok, "ok" if ok else f"status {answer.status}"))
                set_cookie = answer.header("Set-Cookie")
                if session is not None and set_cookie:
                    self.cookies[session] = set_cookie.split(";", 1)[0]
            except Failed as f:
                self.samples.append(Sample(start, f.seconds, False, f.kind))
            self._stop.wait(max(0.0, self.every - (time.monotonic() - start)))

    def between(self, t0, t1):
        """The samples whose request started within [t0, t1)."""
        return [s for s in self.samples if t0 <= s.start < t1]


def summary(samples):
    """answered, failed, {kind: n}, median, p99, max (seconds, over the
    answered requests; None when there is none)."""
    good = sorted(s.seconds for s in samples if s.ok)
    kinds = {}
    for s in samples:
        if not s.ok:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
    if not good:
        return len(good), len(samples) - len(good), kinds, None, None, None
    p99 = good[min(len(good) - 1, int(0.99 * len(good)))]
    return len(good), len(samples) - len(good), kinds, statistics.median(good), p99, good[-1]
