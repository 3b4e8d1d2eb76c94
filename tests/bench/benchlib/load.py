"""The pages, the checks of each backend's answers, and the load: wrk with a
Lua script that sets the cookies and prints what wrk measured as one line of
JSON from its `done` hook."""

import http.client
import json
import os
import re
import subprocess
from dataclasses import dataclass

from .procs import BenchError


@dataclass(frozen=True)
class Page:
    name: str      # as in the tables
    path: str      # the URL path and query
    cookies: str   # "none": no cookie; "one": one session shared by every
    #                connection; "many": each request the next of SESSIONS
    needs_db: bool = False


SESSIONS = 64
PAGES = [
    Page("setSession-new", "/setSession.php", "none"),
    Page("setSession-64", "/setSession.php", "many"),
    Page("showSession-1", "/showSession.php", "one"),
    Page("testMySQL", "/testMySQL.php", "none", needs_db=True),
    Page("queryCache-HIT", "/queryCache.php?id=3", "none", needs_db=True),
    Page("ping", "/ping", "none"),
]
PAGE_NAMES = [p.name for p in PAGES]

LUA = r"""
-- tests/bench's wrk script. BENCH_COOKIE: one session id sent on every
-- request; BENCH_SESSIONS: a file of session ids, each request the next one
-- (each wrk thread from its own starting point). done() prints one line.
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = "PHPSESSID=" .. cookie
end

local sessions = os.getenv("BENCH_SESSIONS")
if sessions and sessions ~= "" then
  local ids = {}
  for line in io.lines(sessions) do ids[#ids + 1] = line end
  local threads = 0
  function setup(thread)
    threads = threads + 1
    thread:set("first", threads * 17)
  end
  local n = nil
  function request()
    if n == nil then n = (first or 0) % #ids end
    n = n % #ids + 1
    return wrk.format(nil, nil, { ["Cookie"] = "PHPSESSID=" .. ids[n] })
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    latency.mean))
end
"""


def write_lua(tmp):
    path = os.path.join(tmp, "bench.lua")
    with open(path, "w") as f:
        f.write(LUA)
    return path


def wrk(url, connections, threads, seconds, lua, cookie=None, sessions_file=None, timeout_s=2):
    """Runs wrk; returns the figures of its done() line (see LUA), with
    `rate` (requests per second) added, and wrk's whole output."""
    env = dict(os.environ, BENCH_COOKIE=cookie or "", BENCH_SESSIONS=sessions_file or "")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", f"--timeout={timeout_s}s",
            "-s", lua, url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk on {url} did not end within {seconds + 60} s")
    out = done.stdout + done.stderr
    for line in out.splitlines():
        if line.startswith("BENCH "):
            figures = json.loads(line[len("BENCH "):])
            secs = figures["duration_us"] / 1e6
            figures["rate"] = figures["requests"] / secs if secs > 0 else 0.0
            return figures, out
    raise BenchError(f"wrk printed no result for {url}: {out.strip()[-500:]}")


# ------------------------------------------------------------------ checks


def http_get(port, path, cookie=None):
    """(status, headers as a list of (name, value), body)"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Cookie": f"PHPSESSID={cookie}"} if cookie else {}
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read().decode("utf-8", "replace")
    except OSError as e:
        return 0, [], f"({e})"
    finally:
        conn.close()


def cookie_of(headers):
    for name, value in headers:
        if name.lower() == "set-cookie":
            m = re.match(r"PHPSESSID=([^;]+)", value)
            if m:
                return m.group(1)
    return None


def header(headers, wanted):
    for name, value in headers:
        if name.lower() == wanted.lower():
            return value
    return None


class Checker:
    """Checks that a backend answers each page as PHP does, before and after
    the load, and makes the sessions the cookie pages send. What is wrong is
    collected in `odd`, printed under the table."""

    def __init__(self):
        self.odd = []

    def note(self, text):
        self.odd.append(text)
        print("bench: ODD:", text, flush=True)

    def prepare(self, backend, port, pages, tmp):
        """Returns {"cookie": a session id, "sessions": a file of SESSIONS ids}."""
        name = backend.name
        if name == "floor":
            path = os.path.join(tmp, "sessions-floor")
            with open(path, "w") as f:
                f.writelines(f"floor{i:021d}\n" for i in range(SESSIONS))
            for page in pages:
                status, _, body = http_get(port, page.path)
                if status != 200:
                    self.note(f"floor: {page.path} answered {status}: {body[:200]}")
            return {"cookie": "floorfloorfloorfloorfloor0", "sessions": path}
        sid = self.check(backend, port, pages)
        ids = []
        for _ in range(SESSIONS):
            _, headers, _ = http_get(port, "/setSession.php")
            ids.append(cookie_of(headers))
        if None in ids or len(set(ids)) != SESSIONS:
            self.note(f"{name}: {SESSIONS} requests to /setSession.php gave "
                      f"{len(set(ids) - {None})} distinct session ids")
        path = os.path.join(tmp, f"sessions-{name}")
        with open(path, "w") as f:
            f.writelines(f"{i}\n" for i in ids if i)
        return {"cookie": sid, "sessions": path}

    def check(self, backend, port, pages):
        """The seed's answers, page by page; returns the session id made."""
        name = backend.name
        status, headers, first = http_get(port, "/setSession.php")
        sid = cookie_of(headers)
        m = re.fullmatch(r"(\d+)<br><br>Session ID: ([0-9a-v]{26})", first)
        if status != 200 or not m or sid != m.group(2):
            self.note(f"{name}: /setSession.php answered {status} '{first[:200]}', cookie {sid}")
            return sid
        status, headers, body = http_get(port, "/setSession.php", sid)
        if status != 200 or body != first or cookie_of(headers):
            self.note(f"{name}: /setSession.php with its cookie answered {status} '{body[:200]}'")
        stored = f"Itcys.top|i:{m.group(1)};"
        status, _, body = http_get(port, "/showSession.php", sid)
        if status != 200 or body.rstrip("\n") != f'string({len(stored)}) "{stored}"':
            self.note(f"{name}: /showSession.php answered {status} '{body[:200]}'")
        names = {p.name for p in pages}
        if "testMySQL" in names:
            status, _, body = http_get(port, "/testMySQL.php")
            if status != 200 or body != "<h1>connect success</h1>":
                self.note(f"{name}: /testMySQL.php answered {status} '{body[:200]}'")
        if "queryCache-HIT" in names:
            http_get(port, "/queryCache.php?id=3")  # a miss fills the cache
            status, headers, body = http_get(port, "/queryCache.php?id=3")
            if status != 200 or header(headers, "X-Cache") != "HIT" or "MariaDB hoodie" not in body:
                self.note(f"{name}: /queryCache.php?id=3 answered {status} X-Cache "
                          f"{header(headers, 'X-Cache')} '{body[:200]}'")
        if "ping" in names:
            status, _, body = http_get(port, "/ping")
            if status != 200 or body.strip() != "pong":
                self.note(f"{name}: /ping answered {status} '{body[:200]}'")
        return sid
