#!/usr/bin/env python3
"""The status dashboard (deploy/status/status.html) in a real headless Chromium.

Usage: dashboard_test.py SOURCE_DIR BUILD_DIR

Starts build/cppfpm (the test pages on, a status path, a slowlog timeout) and
nginx from deploy/nginx/nginx.conf.in filled in as deploy/lemmp fills it,
with status.html in the html root as lemmp copies it; opens
http://127.0.0.1:PORT/status.html in Debian's chromium driven over the
DevTools protocol on a pipe (--remote-debugging-pipe: no npm, no websocket),
checks the page polls without errors and draws, then puts the pool under
load through nginx and checks the page's numbers follow: requests/s,
active processes, a Running child in the table, slow requests. A screenshot
taken under load is kept as BUILD_DIR/tests/dashboard/dashboard.png.
Exit 0 on success, 1 with the reasons otherwise.
"""
import base64
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds, process, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("%s exited (%s)" % (what, process.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s did not open 127.0.0.1:%d within %d s" % (what, port, seconds))


def high_fd(fd):
    """fd moved to a number above 100."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 100)
    os.close(fd)
    return moved


class Chromium:
    """Chromium's DevTools protocol on fds 3 (commands) and 4 (replies),
    each message JSON followed by a NUL byte."""

    def __init__(self, binary, profile, log):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # bash (dash reads one-digit fds only) puts the pipe ends on 3 and 4 (subprocess would close
        # descriptors moved there before exec); above 100 first, so neither
        # end is itself 3 or 4 when the other is moved there.
        to_browser_r, from_browser_w = high_fd(to_browser_r), high_fd(from_browser_w)
        shell = 'exec "$0" "$@" 3<&%d 4>&%d %d<&- %d>&-' % (to_browser_r, from_browser_w, to_browser_r,
                                                          from_browser_w)
        args = ["/bin/bash", "-c", shell, binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
                "--remote-debugging-pipe", "--user-data-dir=" + profile, "--window-size=1280,1100",
                "about:blank"]
        self.process = subprocess.Popen(args, pass_fds=(to_browser_r, from_browser_w),
                                        stdout=log, stderr=log, start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no reply from chromium")
            import select
            ready, _, _ = select.select([self.from_browser], [], [], 0.5)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its DevTools pipe (exit %s)" % self.process.poll())
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def open(self, url):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1100, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError("page script failed: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# What the page shows, read from its DOM (what a person sees) and from the
# window.cppfpmDashboard counters the page keeps for this test.
READ_PAGE = r"""(() => {
  const text = (id) => document.getElementById(id).textContent;
  const inked = (id) => {
    const c = document.getElementById(id);
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  };
  const rows = [...document.querySelectorAll("#children tbody tr")];
  return {
    samples: window.cppfpmDashboard.samples, errors: window.cppfpmDashboard.errors,
    state: text("state"), pool: text("pool"), rps: parseFloat(text("rps")) || 0,
    accepted: parseInt(text("accepted")) || 0, active: parseInt(text("active")) || 0,
    idle: parseInt(text("idle")) || 0, total: parseInt(text("total")) || 0,
    slow: parseInt(text("slow")) || 0, children: rows.length,
    running: rows.filter((r) => r.children[1].textContent === "Running").length,
    ink: ["chart-rps", "chart-procs", "chart-queue", "chart-slow"].map(inked),
  };
})()"""


def main():
    source, build = sys.argv[1], sys.argv[2]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("FAIL: no chromium (deploy/install-deps installs Debian's chromium)")
        return 1
    out_dir = os.path.join(build, "tests", "dashboard")
    os.makedirs(out_dir, exist_ok=True)
    state = tempfile.mkdtemp(prefix="cppfpm-dashboard-")
    os.chmod(state, 0o755)
    problems, processes = [], []

    with open(os.path.join(source, "deploy", "cppfpm.conf")) as f:
        if not re.search(r"^pm\.status_path\s*=\s*/status\s*$", f.read(), re.M):
            problems.append("deploy/cppfpm.conf has no `pm.status_path = /status`: lemmp's dashboard would get 404")

    fpm_port, http_port = free_port(), free_port()
    conf = os.path.join(state, "cppfpm.conf")
    with open(conf, "w") as f:
        f.write("""[global]
pid = {state}/cppfpm.pid
error_log = {state}/cppfpm.log
[www]
{user}
listen = 127.0.0.1:{port}
pm = dynamic
pm.max_children = 4
pm.start_servers = 1
pm.min_spare_servers = 1
pm.max_spare_servers = 2
pm.threads_per_child = 2
pm.status_path = /status
ping.path = /ping
request_slowlog_timeout = 1s
slowlog = {state}/slow.log
session.save_handler = memory
""".format(state=state, port=fpm_port, user="user = nobody\ngroup = nogroup" if os.geteuid() == 0 else ""))
    nginx_dir = os.path.join(state, "nginx")
    html = os.path.join(state, "html")
    os.makedirs(nginx_dir)
    os.makedirs(html)
    shutil.copy("/etc/nginx/fastcgi_params", os.path.join(nginx_dir, "fastcgi_params"))
    shutil.copy(os.path.join(source, "deploy", "status", "status.html"), os.path.join(html, "status.html"))
    with open(os.path.join(source, "deploy", "nginx", "nginx.conf.in")) as f:
        template = f.read()
    for key, value in {"@USER_LINE@": "user root;" if os.geteuid() == 0 else "", "@STATE@": state,
                       "@HTTP_PORT@": str(http_port),
                       "@UPSTREAM_SERVERS@": "        server 127.0.0.1:%d;" % fpm_port,
                       "@NGINX_DIR@": os.path.join(source, "deploy", "nginx")}.items():
        template = template.replace(key, value)
    with open(os.path.join(nginx_dir, "nginx.conf"), "w") as f:
        f.write(template)

    log = open(os.path.join(out_dir, "processes.log"), "w")
    browser = None
    try:
        env = dict(os.environ, CPPFPM_TEST_PAGES="1")
        fpm = subprocess.Popen([os.path.join(build, "cppfpm"), "-F", "-y", conf], env=env, stdout=log,
                               stderr=log, start_new_session=True)
        processes.append(fpm)
        wait_port(fpm_port, 20, fpm, "cppfpm")
        nginx = subprocess.Popen(["nginx", "-p", nginx_dir, "-c", os.path.join(nginx_dir, "nginx.conf"),
                                  "-e", os.path.join(nginx_dir, "error.log"), "-g", "daemon off;"],
                                 stdout=log, stderr=log, start_new_session=True)
        processes.append(nginx)
        wait_port(http_port, 20, nginx, "nginx")
        base = "http://127.0.0.1:%d" % http_port
        with urllib.request.urlopen(base + "/status?json", timeout=10) as r:
            print("nginx -> cppfpm /status?json: %s" % r.read().decode()[:200])

        browser = Chromium(chromium, os.path.join(state, "profile"), log)
        browser.call("Browser.getVersion", session=False)
        browser.open(base + "/status.html?interval=500")

        def read_until(condition, seconds, what):
            deadline = time.time() + seconds
            page = None
            while time.time() < deadline:
                try:
                    page = browser.evaluate(READ_PAGE)
                    if condition(page):
                        return page
                except RuntimeError:
                    pass  # the page is still loading
                time.sleep(0.25)
            raise RuntimeError("%s within %d s; the page shows %s" % (what, seconds, page))

        idle = read_until(lambda p: p["samples"] >= 4, 30, "the page did not poll 4 times")
        print("idle: %s" % json.dumps(idle))
        if idle["errors"]:
            problems.append("the page counted %d failed polls: %s" % (idle["errors"], idle["state"]))
        if idle["pool"] != "www":
            problems.append("the page shows pool %r, not www" % idle["pool"])
        if idle["children"] < 1:
            problems.append("the per-child table is empty")
        if not all(idle["ink"]):
            problems.append("a chart is blank: %s" % idle["ink"])

        # Load through nginx: 6 clients on 2 threads per child keep
        # children busy; a few 1.5 s requests cross request_slowlog_timeout.
        stop = threading.Event()
        done = []

        def client(ms):
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(base + "/__test/sleep.php?ms=%d" % ms, timeout=30) as r:
                        r.read()
                    done.append(ms)
                except OSError:
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(ms,)) for ms in [50, 50, 50, 50, 300, 1500]]
        for t in threads:
            t.start()
        busiest = dict(idle)
        screenshot = os.path.join(out_dir, "dashboard.png")
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                page = browser.evaluate(READ_PAGE)
                for key in ("rps", "active", "total", "slow", "running", "accepted"):
                    busiest[key] = max(busiest[key], page[key])
                if (busiest["rps"] > idle["rps"] + 5 and busiest["active"] >= 2 and busiest["running"] >= 1
                        and busiest["slow"] > idle["slow"] and time.time() > deadline - 24):
                    break
                time.sleep(0.25)
            browser.screenshot(screenshot)
        finally:
            stop.set()
            for t in threads:
                t.join()
        print("under load (%d requests answered): %s" % (len(done), json.dumps(busiest)))
        if busiest["rps"] <= idle["rps"] + 5:
            problems.append("requests/s did not rise under load: idle %.1f, at most %.1f" % (idle["rps"], busiest["rps"]))
        if busiest["active"] < 2:
            problems.append("active processes never reached 2 under load (at most %d)" % busiest["active"])
        if busiest["running"] < 1:
            problems.append("no child was shown Running in the table under load")
        if busiest["slow"] <= idle["slow"]:
            problems.append("slow requests did not rise (%d) after 1.5 s requests" % busiest["slow"])
        with open(screenshot, "rb") as f:
            png = f.read()
        print("screenshot: %s (%d bytes)" % (screenshot, len(png)))
        if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 10000:
            problems.append("the screenshot is not a plausible PNG (%d bytes)" % len(png))
    except Exception as e:  # a broken step: report it as a failure with the logs
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        if browser:
            browser.close()
        for p in reversed(processes):
            if p.poll() is None:
                p.send_signal(signal.SIGQUIT)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        log.close()
        for name in ("cppfpm.log", "nginx/error.log"):
            path = os.path.join(state, name)
            if problems and os.path.exists(path):
                print("--- %s (last lines)" % name)
                with open(path, errors="replace") as f:
                    print("".join(f.readlines()[-20:]))
        shutil.rmtree(state, ignore_errors=True)

    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print("PASS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
