"""Processes the benchmark starts, loopback ports, and memory of a process tree."""

import os
import signal
import socket
import subprocess
import time


class BenchError(Exception):
    """Something the run cannot go on without; the message says what."""


def say(*words):
    print("bench:", *words, flush=True)


class Processes:
    """Every process the run starts, each in its own process group, so that
    stopping one also stops what it started (a master's children). stop_all()
    stops them in reverse order of start: TERM, a moment, then KILL."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.started = []  # (name, Popen)

    def spawn(self, name, argv, env=None):
        log = open(os.path.join(self.log_dir, name + ".log"), "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        log.close()
        self.started.append((name, proc))
        return proc

    def log_tail(self, name, lines=5):
        try:
            with open(os.path.join(self.log_dir, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:]).strip()
        except OSError:
            return ""

    def stop_all(self):
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for _, proc in reversed(self.started):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # The group too: a child the master did not take down with it.
            _signal_group(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        self.started = []


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Ports:
    """Free loopback ports: the kernel picks one, and none is handed out twice."""

    def __init__(self):
        self.given = set()

    def free(self):
        for _ in range(100):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in self.given:
                self.given.add(port)
                return port
        raise BenchError("found no free loopback port")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_for_port(name, port, seconds, proc, processes):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc.poll() is not None:
            raise BenchError(f"{name} exited at start (status {proc.returncode}): "
                             f"{processes.log_tail(name)}")
        time.sleep(0.1)
    raise BenchError(f"{name} did not open 127.0.0.1:{port} within {seconds} s: {processes.log_tail(name)}")


def run_checked(argv, what, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise BenchError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-600:]}")
    return done.stdout


# ------------------------------------------------------------------ memory


def _parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name is in parentheses and may hold spaces: read after it.
    return int(stat[stat.rindex(")") + 2:].split()[1])


def tree(root):
    """root and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(_parent_of(int(entry)), []).append(int(entry))
            except (OSError, ValueError):
                pass  # gone meanwhile
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(root):
    """CPU time (clock ticks, user + system) used so far by root's tree."""
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def wait_idle(root, seconds=10, window=0.3):
    """Waits until root's tree uses less than a tenth of a core over
    `window` seconds (at most `seconds`): what a backend still does after
    the load stopped (requests it took from its listen queue) must not run
    during the next backend's turn. Returns the seconds waited."""
    start = time.monotonic()
    hz = os.sysconf("SC_CLK_TCK")
    before = cpu_ticks(root)
    while time.monotonic() - start < seconds:
        time.sleep(window)
        now = cpu_ticks(root)
        if (now - before) / hz < 0.1 * window:
            break
        before = now
    return time.monotonic() - start


def memory_mib(root):
    """(summed RSS, summed PSS, process count) of root's process tree, in MiB.
    RSS counts shared pages once per process (what ps users add up), PSS
    shares them out."""
    pids = tree(root)
    rss = sum(_status_kib(p, "VmRSS") for p in pids)
    pss = sum(_pss_kib(p) for p in pids)
    return rss / 1024, pss / 1024, len(pids)
