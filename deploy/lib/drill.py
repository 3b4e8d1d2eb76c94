#!/usr/bin/env python3
"""deploy/lemmp drill: the seed's proof, as a report.

A client with one cookie jar calls setSession.php once, then keeps asking
showSession.php, queryCache.php?id=N and testMySQL.php through the front at
a steady rate, while the drill SIGKILLs, then restarts, each node behind the
front in turn, then freezes (SIGSTOP) and thaws each cppfpm node. Per step:
requests sent, errors (which), the worst latency, and whether the session id
and its stored timestamp stayed the same.

Exit status 1 when a session changed, or a step saw more failed requests
than were in flight when its node was killed; 0 otherwise.
"""
import argparse
import http.cookiejar
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

PAGES = ["/showSession.php", "/queryCache.php?id={n}", "/testMySQL.php"]


class Client:
    """Steady traffic through the front: `workers` threads, one cookie jar."""

    def __init__(self, front, rate, workers, timeout):
        self.front = front
        self.interval = workers / rate
        self.workers = workers
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.in_flight = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.sent = 0
            self.errors = []
            self.worst = 0.0
            self.changed = []

    def session_id(self):
        for c in self.jar:
            if c.name == "PHPSESSID":
                return c.value
        return None

    def fetch(self, path):
        start = time.monotonic()
        try:
            with self.opener.open(self.front + path, timeout=self.timeout) as r:
                body = r.read().decode("utf-8", "replace")
                status = r.status
        except urllib.error.HTTPError as e:
            body, status = e.read().decode("utf-8", "replace"), e.code
        except Exception as e:  # refused, reset, timeout
            body, status = type(e).__name__ + ": " + str(e), None
        return status, body, time.monotonic() - start

    def set_session(self):
        status, body, _ = self.fetch("/setSession.php")
        m = re.match(r"(\d+)<br><br>Session ID: (\S+)", body)
        if status != 200 or not m:
            raise SystemExit("drill: setSession.php failed: %s %s" % (status, body[:200]))
        self.stamp, self.sid = m.group(1), m.group(2)
        if self.session_id() != self.sid:
            raise SystemExit("drill: the cookie jar holds no PHPSESSID=%s" % self.sid)

    def check(self, path, status, body):
        """None when the answer is right, else what was wrong."""
        if status != 200:
            return "%s %s" % (status, body.strip()[:60] if status is None else "")
        if path.startswith("/showSession"):
            if "Itcys.top|i:%s;" % self.stamp not in body:
                return "session lost: " + body.strip()[:60]
        elif path.startswith("/queryCache"):
            if "<table>" not in body:
                return "no row: " + body[:60]
        elif "connect success" not in body:
            return "MySQL: " + body.strip()[:60]
        return None

    def worker(self, k):
        i = k
        next_at = time.monotonic()
        while not self.stop.is_set():
            path = PAGES[i % len(PAGES)].format(n=1 + (i // len(PAGES)) % 8)
            i += self.workers
            with self.lock:
                self.in_flight += 1
            status, body, took = self.fetch(path)
            wrong = self.check(path, status, body)
            sid = self.session_id()
            with self.lock:
                self.in_flight -= 1
                self.sent += 1
                self.worst = max(self.worst, took)
                if wrong:
                    self.errors.append("%s: %s" % (path.split("?")[0].lstrip("/"), wrong))
                if sid != self.sid or (wrong and wrong.startswith("session lost")):
                    self.changed.append("%s: id %s" % (path, sid))
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                next_at = time.monotonic()

    def start(self):
        self.threads = [threading.Thread(target=self.worker, args=(k,), daemon=True)
                        for k in range(self.workers)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(self.timeout + 1)


# fail_timeout of the upstreams in deploy/nginx/cluster-*.conf*.
NGINX_FAIL_TIMEOUT = 2.0


def lemmp(args, problems, *cmd):
    r = subprocess.run([args.lemmp, *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append("lemmp %s failed: %s" % (" ".join(cmd), (r.stdout + r.stderr).strip()[-300:]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lemmp", required=True)
    p.add_argument("--front", required=True)
    p.add_argument("--topology", default="?")
    p.add_argument("--rate", type=float, default=20.0, help="requests per second")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=10.0, help="a request's bound, s")
    p.add_argument("--hold", type=float, default=2.0, help="s a node stays down or frozen")
    # A Galera node evicts a dead peer after evs.inactive_timeout (4 s in
    # deploy/lemmp); one back sooner meets a cluster still reconfiguring.
    p.add_argument("--db-hold", type=float, default=5.0, help="s a MariaDB node stays down")
    p.add_argument("--settle", type=float, default=2.0, help="s of traffic after a restart")
    # mc2 last: a restarted memcached gets its copies of live sessions back
    # (read repair) as requests touch them; a while passes before the other
    # copy is lost.
    p.add_argument("--nodes", default="fpm1,fpm2,web1,web2,mc1,db1,db2,db3,mc2",
                   help="nodes to kill, in order")
    p.add_argument("--freeze", default="fpm1,fpm2", help="nodes to freeze, in order")
    args = p.parse_args()

    started = time.monotonic()
    client = Client(args.front, args.rate, args.workers, args.timeout)
    client.set_session()
    print("drill: topology %s, front %s, %d req/s from %d workers, one cookie jar"
          % (args.topology, args.front, args.rate, args.workers))
    print("drill: setSession.php: Session ID %s, stored timestamp %s" % (client.sid, client.stamp))
    client.start()
    time.sleep(1)

    steps = [("kill", n) for n in args.nodes.split(",") if n] + \
            [("freeze", n) for n in args.freeze.split(",") if n]
    header = "%-14s %5s %6s %9s %8s  %s" % ("STEP", "SENT", "ERRORS", "IN FLIGHT", "WORST", "SESSION")
    print(header)
    failed = False
    details = []
    for action, node in steps:
        client.reset()
        t0 = time.monotonic()
        with client.lock:
            flight = client.in_flight
        problems = []
        if action == "kill":
            lemmp(args, problems, "kill", node)
            time.sleep(max(args.hold, args.db_hold) if node.startswith("db") else args.hold)
            lemmp(args, problems, "start", node)
        else:
            lemmp(args, problems, "freeze", node)
            time.sleep(args.hold)
            lemmp(args, problems, "thaw", node)
        # nginx leaves a node that failed alone for fail_timeout (2 s in
        # deploy/nginx); the next step must not kill the other node of that
        # pair before this one is back in nginx's choice, or a request finds
        # no live upstream (a 502 that no kill explains).
        behind_nginx = node.startswith(("fpm", "web"))
        time.sleep(max(args.settle, NGINX_FAIL_TIMEOUT + 0.5) if behind_nginx else args.settle)
        with client.lock:
            sent, errors, worst, changed = client.sent, list(client.errors), client.worst, list(client.changed)
        same = not changed
        # A request in flight at the kill may fail; none other may.
        bad = (not same) or len(errors) > flight or bool(problems)
        failed = failed or bad
        print("%-14s %5d %6d %9d %7.2fs  %s%s" % (
            "%s %s" % ("SIGKILL" if action == "kill" else "SIGSTOP", node), sent, len(errors),
            flight, worst, "unchanged" if same else "CHANGED", "   <-- FAIL" if bad else ""),
            flush=True)
        for e in problems:
            details.append("  %s %s: %s" % (action, node, e))
        for e in errors[:5]:
            details.append("  %s %s: %s" % (action, node, e))
        for c in changed[:3]:
            details.append("  %s %s: session changed: %s" % (action, node, c))
        del t0
    client.finish()
    # The session as the client left it, read once more.
    status, body, _ = client.fetch("/showSession.php")
    final_same = (status == 200 and "Itcys.top|i:%s;" % client.stamp in body
                  and client.session_id() == client.sid)
    if details:
        print("errors:")
        print("\n".join(details))
    print("drill: final showSession.php: Session ID %s, timestamp %s: %s"
          % (client.session_id(), client.stamp, "unchanged" if final_same else "CHANGED"))
    failed = failed or not final_same
    print("drill: %s in %.0f s" % ("FAILED" if failed else "passed", time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
