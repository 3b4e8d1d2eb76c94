"""The processes under test: memcached and one cppfpm pool on free loopback
ports, each started by the tool (benchlib's Processes: own process group,
stopped by pid), and what is read from them: the error log, the children's
CPU time."""

import os
import re
import shutil
import signal
import subprocess
import threading
import time

from benchlib.procs import BenchError, tree, wait_for_port

AS_ROOT = os.geteuid() == 0
HZ = os.sysconf("SC_CLK_TCK")


class Memcached:
    """memcached on a fixed port, so that a restart comes back where the
    pool expects it."""

    def __init__(self, processes, port):
        self.processes, self.port, self.proc = processes, port, None

    def start(self):
        argv = ["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "64", "-c", "8192",
                "-t", "2"] + (["-u", "root"] if AS_ROOT else [])
        self.proc = self.processes.spawn("memcached", argv)
        wait_for_port("memcached", self.port, 10, self.proc, self.processes)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


class Binary:
    """A cppfpm binary under a label (before, after), copied into the run's
    dir (a build may replace the original meanwhile), with the flags it
    knows: the before tree has no -R."""

    def __init__(self, label, path, run_dir):
        self.label = label
        self.original = os.path.abspath(path)
        self.path = os.path.join(run_dir, "cppfpm-" + label)
        shutil.copy2(self.original, self.path)
        helped = subprocess.run([self.path, "--help"], capture_output=True, text=True, timeout=10)
        self.root_flag = ["-R"] if AS_ROOT and "--allow-to-run-as-root" in helped.stdout + helped.stderr else []
        version = subprocess.run([self.path, "-v"], capture_output=True, text=True, timeout=10)
        said = (version.stdout or version.stderr).strip().splitlines()
        self.version = said[0] if version.returncode == 0 and said else "?"


class Pool:
    """One cppfpm master (pm = static, 2 children x 8 threads, listen.backlog
    1024) in its own dir with its own error log. Only keys that both the
    before and the after tree accept are written."""

    def __init__(self, binary, run_dir, name, processes, ports, memcached_port, rlimit_files=None,
                 children=2, threads=8):
        self.binary, self.processes = binary, processes
        self.dir = os.path.join(run_dir, name)
        os.makedirs(self.dir)
        self.name = name
        self.port = ports.free()
        self.error_log = ErrorLog(os.path.join(self.dir, "error.log"))
        self.conf = os.path.join(self.dir, "cppfpm.conf")
        rlimit = f"rlimit_files = {rlimit_files}\n" if rlimit_files else ""
        with open(self.conf, "w") as f:
            f.write(f"""[global]
pid = {self.dir}/cppfpm.pid
error_log = {self.error_log.path}
log_level = notice

[www]
listen = 127.0.0.1:{self.port}
listen.backlog = 1024
pm = static
pm.max_children = {children}
pm.threads_per_child = {threads}
ping.path = /ping
ping.response = pong
session.save_handler = memcached
session.save_path = "tcp://127.0.0.1:{memcached_port}"
{rlimit}""")
        self.children_wanted = children
        self.proc = None

    def start(self):
        done = subprocess.run([self.binary.path, "-t", "-y", self.conf] + self.binary.root_flag,
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise BenchError(f"{self.binary.label}: cppfpm -t failed: {(done.stderr or done.stdout).strip()[-400:]}")
        env = dict(os.environ, CPPFPM_TEST_PAGES="1")  # /__test/sleep, in both trees' test builds
        self.proc = self.processes.spawn(f"{self.name}-cppfpm",
                                         [self.binary.path, "-F", "-y", self.conf] + self.binary.root_flag, env=env)
        wait_for_port(self.name, self.port, 15, self.proc, self.processes)
        deadline = time.monotonic() + 10
        while len(self.children()) < self.children_wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def children(self):
        return [p for p in tree(self.proc.pid) if p != self.proc.pid]

    def stop(self):
        """SIGTERM (a fast stop), then SIGKILL of the group after 5 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


# ------------------------------------------------------------------ CPU


def ticks(pid):
    """CPU time of one process so far (user + system, clock ticks)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


class ChildCpu:
    """The CPU the pool's children use between start() and stop(): per child
    (those alive at both ends) and in total."""

    def __init__(self, pool):
        self.pool = pool

    def start(self):
        self.t0 = time.monotonic()
        self.first = {p: ticks(p) for p in self.pool.children()}
        return self

    def stop(self):
        self.seconds = time.monotonic() - self.t0
        self.used = {}
        for p, t in self.first.items():
            now = ticks(p)
            if t is not None and now is not None:
                self.used[p] = (now - t) / HZ
        return self

    def total(self):
        return sum(self.used.values())

    def percents(self):
        return [100 * u / self.seconds for u in self.used.values()]


# ------------------------------------------------------------------ the error log


class ErrorLog:
    """Lines and bytes the pool wrote to its error log between two marks.
    Counts in chunks: a spinning child can write gigabytes."""

    def __init__(self, path):
        self.path = path

    def size(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def between(self, start, end=None, keep=0):
        """(lines, bytes, the first `keep` lines) written from offset start to end."""
        end = self.size() if end is None else end
        lines, kept = 0, []
        try:
            with open(self.path, "rb") as f:
                f.seek(start)
                left = end - start
                while left > 0:
                    chunk = f.read(min(left, 16 << 20))
                    if not chunk:
                        break
                    if len(kept) < keep:
                        kept.extend(chunk.decode("utf-8", "replace").splitlines()[:keep - len(kept)])
                    lines += chunk.count(b"\n")
                    left -= len(chunk)
        except OSError:
            pass
        return lines, end - start, kept

    def drop(self):
        """Removes the log (a before run may leave gigabytes)."""
        try:
            os.unlink(self.path)
        except OSError:
            pass


class LogTail:
    """Reads the error log as it grows (every 20 ms) and notes when each line
    appeared (monotonic time): whether a line came before or after an event
    does not depend on the log's timestamp format."""

    def __init__(self, error_log):
        self.error_log = error_log
        self.lines = []  # (monotonic, text)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._offset = error_log.size()

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self._read()

    def matching(self, pattern, t0=0.0, t1=float("inf")):
        rx = re.compile(pattern)
        return [(t, line) for t, line in self.lines if t0 <= t < t1 and rx.search(line)]

    def _run(self):
        while not self._stop.wait(0.02):
            self._read()

    def _read(self):
        size = self.error_log.size()
        if size <= self._offset:
            return
        with open(self.error_log.path, "rb") as f:
            f.seek(self._offset)
            data = f.read(size - self._offset)
        whole = data.rfind(b"\n") + 1
        now = time.monotonic()
        for line in data[:whole].decode("utf-8", "replace").splitlines():
            self.lines.append((now, line))
        self._offset += whole
