"""Crowds of bad client connections the tool opens and holds: idle ones
that never send a byte, and slowloris ones that send the start of a request
head and then one more byte now and then, never finishing it.

A crowd lives in its own thread (one epoll loop): it connects every socket
without blocking (those the server's backlog cannot take stay connecting,
retried by the kernel), then notices every connection the server closes
(EOF or reset) and when."""

import errno
import selectors
import socket
import threading
import time

from .fcgi import partial_head


class Crowd:
    def __init__(self, port, count, slowloris=False, drip_every=2.0):
        self.port, self.count = port, count
        self.first_bytes = partial_head() if slowloris else b""
        self.drip_every = drip_every if slowloris else None
        self.started = None  # monotonic time of the first connect
        self.connected = 0   # ever connected
        self.failed = 0      # connect failed (refused, reset, timed out by the kernel)
        self.closed = []     # seconds from connected to closed by the server, one per closed connection
        self._open = {}      # socket -> monotonic time connected (None while connecting)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    # ------------------------------------------------------------ outside

    def start(self):
        self._thread.start()
        return self

    def wait_connected(self, seconds):
        """Waits until every connection is made or failed, at most `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.connected + self.failed < self.count:
            time.sleep(0.05)

    def closed_within(self, seconds):
        with self._lock:
            return sum(1 for s in self.closed if s <= seconds)

    def connecting(self):
        with self._lock:
            return sum(1 for t in self._open.values() if t is None)

    def stop(self):
        """Closes every connection still open (client side)."""
        self._stop.set()
        self._thread.join(30)

    # ------------------------------------------------------------ the loop

    def _run(self):
        sel = selectors.DefaultSelector()
        self.started = time.monotonic()
        for _ in range(self.count):
            if self._stop.is_set():
                break
            s = socket.socket()
            s.setblocking(False)
            rc = s.connect_ex(("127.0.0.1", self.port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                self.failed += 1
                continue
            with self._lock:
                self._open[s] = None
            sel.register(s, selectors.EVENT_WRITE)
        next_drip = time.monotonic() + (self.drip_every or 0)
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.05):
                s = key.fileobj
                if self._open.get(s) is None:
                    self._connected(sel, s)
                else:
                    self._readable(sel, s)
            if self.drip_every and time.monotonic() >= next_drip:
                self._drip()
                next_drip = time.monotonic() + self.drip_every
        with self._lock:
            for s in list(self._open):
                sel.unregister(s)
                s.close()
            self._open.clear()
        sel.close()

    def _connected(self, sel, s):
        error = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            self._forget(sel, s)
            self.failed += 1
            return
        with self._lock:
            self._open[s] = time.monotonic()
        self.connected += 1
        if self.first_bytes:
            try:
                s.send(self.first_bytes)
            except OSError:
                pass  # noticed as closed below
        sel.modify(s, selectors.EVENT_READ)

    def _readable(self, sel, s):
        try:
            data = s.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # reset
        if data:
            return  # whatever the server says before closing: wait for the close
        with self._lock:
            self.closed.append(time.monotonic() - self._open[s])
        self._forget(sel, s)

    def _forget(self, sel, s):
        sel.unregister(s)
        with self._lock:
            del self._open[s]
        s.close()

    def _drip(self):
        for s, since in list(self._open.items()):
            if since is not None:
                try:
                    s.send(b"a")
                except OSError:
                    pass  # closed: the loop sees it
