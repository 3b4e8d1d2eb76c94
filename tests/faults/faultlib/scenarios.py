"""The scenarios of issue 12's items 1, 5, 7 and 8, each run against one
binary. Each returns {measure: text} for its table; `plan` holds the sizes
and windows (the full run's or the smoke's)."""

import signal
import socket
import threading
import time

from . import fcgi
from .crowd import Crowd
from .fcgi import SteadyClients, summary
from .pool import ChildCpu, LogTail, Memcached, Pool


class Plan:
    """Sizes and windows. The full run keeps the issue's connection counts
    and shortens its windows (see README); the smoke only checks that every
    scenario runs."""

    def __init__(self, smoke=False, fd_budget=None):
        self.smoke = smoke
        if not smoke:
            self.item1_idle, self.item1_rlimit, self.item1_window = 5000, 1024, 20.0
            self.item5_eof_wait, self.item5_sleep_ms = 12.0, 2000
            self.item7_slow, self.item7_slow_wait = 7901, 30.0
            self.item7_freeze, self.item7_after_thaw = 5.0, 10.0
            self.item7_down, self.item7_after_restart = 2.0, 6.0
            self.item8_slow, self.item8_idle, self.item8_window = 2000, 2000, 8.0
        else:
            self.item1_idle, self.item1_rlimit, self.item1_window = 200, 128, 2.0
            self.item5_eof_wait, self.item5_sleep_ms = 2.0, 500
            self.item7_slow, self.item7_slow_wait = 50, 1.0
            self.item7_freeze, self.item7_after_thaw = 1.0, 1.0
            self.item7_down, self.item7_after_restart = 0.5, 1.0
            self.item8_slow, self.item8_idle, self.item8_window = 100, 100, 2.0
        self.high_rlimit = 16384
        self.notes = []
        if fd_budget is not None:
            self._fit(fd_budget)

    def _fit(self, budget):
        """The tool holds every attacking connection itself: no more than
        its own descriptor limit allows."""
        for name in ("item1_idle", "item7_slow"):
            if getattr(self, name) > budget:
                self.notes.append(f"{name} cut from {getattr(self, name)} to {budget}: the tool's "
                                  f"RLIMIT_NOFILE allows no more")
                setattr(self, name, budget)
        if self.item8_slow + self.item8_idle > budget:
            self.notes.append(f"item 8 cut to {budget // 2} + {budget // 2}: the tool's RLIMIT_NOFILE")
            self.item8_slow = self.item8_idle = budget // 2


class Context:
    """What a binary's scenarios share: its binary, the run's dir, the
    processes and ports, one memcached."""

    def __init__(self, binary, run_dir, processes, ports, plan, say):
        self.binary, self.run_dir, self.processes, self.ports = binary, run_dir, processes, ports
        self.plan, self.say = plan, say
        self.memcached = Memcached(processes, ports.free())
        self.memcached.start()

    def pool(self, name, **kwargs):
        return Pool(self.binary, self.run_dir, name, self.processes, self.ports, self.memcached.port,
                    **kwargs).start()


def ms(seconds):
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def failures(kinds):
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "0"


def log_figures(lines, size, sample):
    """"N lines, M bytes (first: `...`)", the first line without its timestamp."""
    first = sample[0].split("] ", 1)[-1][:110].replace("`", "'") if sample else ""
    return f"{lines:,} lines, {size:,} bytes" + (f" (first: `{first}`)" if first and lines else "")


# ------------------------------------------------------------------ item 1


def item1(ctx):
    """rlimit_files = 1024, N connections that never send a byte, a steady
    good client meanwhile."""
    p = ctx.plan
    pool = ctx.pool("item1", rlimit_files=p.item1_rlimit)
    good = SteadyClients(pool.port, "/ping", clients=4, every=0.05).start()
    time.sleep(0.5)
    log0 = pool.error_log.size()
    cpu = ChildCpu(pool).start()
    t0 = time.monotonic()
    crowd = Crowd(pool.port, p.item1_idle).start()
    time.sleep(max(0.0, t0 + p.item1_window - time.monotonic()))
    cpu.stop()
    log1 = pool.error_log.size()
    t1 = time.monotonic()
    closed, connected, connecting = len(crowd.closed), crowd.connected, crowd.connecting()
    good.stop()
    crowd.stop()
    pool.stop()
    answered, failed, kinds, _, p99, worst = summary(good.between(t0, t1))
    lines, size, sample = pool.error_log.between(log0, log1, keep=1)
    pool.error_log.drop()
    return {
        "good requests answered / failed": f"{answered} / {failures(kinds) if failed else 0}",
        "good p99 / max (answered)": f"{ms(p99)} / {ms(worst)}",
        "children CPU over the window": f"{cpu.total():.2f} s in {cpu.seconds:.1f} s",
        "error log written over the window": log_figures(lines, size, sample),
        f"idle connections closed by the server within {p.item1_window:.0f} s":
            f"{closed:,} of {connected:,} connected ({connecting:,} still connecting)",
    }


# ------------------------------------------------------------------ item 5


def _exit_time(pool, since, limit):
    try:
        pool.proc.wait(limit)
        return time.monotonic() - since
    except Exception:
        return None


def _peer_closes_within(sock, seconds):
    """Seconds until the server closes `sock` (EOF or reset), or None."""
    start = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - start
    return None


def item5(ctx):
    p = ctx.plan
    out = {}

    # (b) a half-closed connection with a partial head: when does the server notice?
    pool = ctx.pool("item5ab")
    half = socket.create_connection(("127.0.0.1", pool.port))
    half.sendall(fcgi.partial_head()[:3])
    half.shutdown(socket.SHUT_WR)
    noticed = _peer_closes_within(half, p.item5_eof_wait)
    half.close()
    out["(b) half-closed partial head: closed by the server after"] = \
        ms(noticed) if noticed is not None else f"not within {p.item5_eof_wait:.0f} s"

    # (a) 3 bytes of a head held, then SIGQUIT: until the master exits.
    held = socket.create_connection(("127.0.0.1", pool.port))
    held.sendall(fcgi.partial_head()[:3])
    time.sleep(0.3)
    start = time.monotonic()
    pool.proc.send_signal(signal.SIGQUIT)
    exited = _exit_time(pool, start, 20)
    held.close()
    out["(a) 3 bytes of a head held: SIGQUIT to master exit"] = ms(exited) if exited is not None else "> 20 s"
    pool.stop()

    # (c) requests in flight, SIGQUIT, a new connection every 50 ms until the master exits.
    pool = ctx.pool("item5c")
    in_flight = SteadyClients(pool.port, f"/__test/sleep?ms={p.item5_sleep_ms}", clients=4, every=60,
                              timeout=p.item5_sleep_ms / 1000 + 10).start()
    time.sleep(0.3)
    probes = []
    start = time.monotonic()
    pool.proc.send_signal(signal.SIGQUIT)

    def probe():
        t = time.monotonic()
        try:
            answer = fcgi.get(pool.port, "/ping", timeout=10)
            probes.append(("answered" if answer.status == 200 else f"status {answer.status}", answer.seconds, t))
        except fcgi.Failed as f:
            probes.append((f.kind, f.seconds, t))

    threads = []
    while pool.proc.poll() is None and time.monotonic() - start < 30:
        th = threading.Thread(target=probe, daemon=True)
        th.start()
        threads.append(th)
        time.sleep(0.05)
    exited = time.monotonic() - start if pool.proc.poll() is not None else None
    for th in threads:
        th.join(12)
    in_flight.stop()
    pool.stop()
    done = [s for s in in_flight.samples]
    kinds = {}
    waited = {}
    for kind, seconds, _ in probes:
        kinds[kind] = kinds.get(kind, 0) + 1
        waited[kind] = max(waited.get(kind, 0.0), seconds)
    out[f"(c) in-flight {p.item5_sleep_ms} ms requests answered"] = \
        f"{sum(1 for s in done if s.ok)} of {len(done)}; master exit {ms(exited)} after SIGQUIT"
    out["(c) connections made during the drain"] = (
        f"{len(probes)}: " + ", ".join(f"{n} {k} (waited up to {ms(waited[k])})" for k, n in sorted(kinds.items())))
    return out


# ------------------------------------------------------------------ item 7


def item7(ctx):
    p = ctx.plan
    out = {}

    # Slow clients that time out.
    pool = ctx.pool("item7slow", rlimit_files=p.high_rlimit)
    log0 = pool.error_log.size()
    crowd = Crowd(pool.port, p.item7_slow, slowloris=True).start()
    crowd.wait_connected(15)
    deadline = time.monotonic() + p.item7_slow_wait
    while time.monotonic() < deadline and len(crowd.closed) < crowd.connected:
        time.sleep(0.2)
    time.sleep(0.5)
    closed, connected = len(crowd.closed), crowd.connected
    log1 = pool.error_log.size()
    crowd.stop()
    pool.stop()
    lines, size, sample = pool.error_log.between(log0, log1, keep=1)
    out[f"{p.item7_slow:,} slowloris connections: closed by the server / log lines"] = \
        f"{closed:,} of {connected:,} / {log_figures(lines, size, sample)}"

    # A memcached freeze under session load.
    pool = ctx.pool("item7freeze")
    load = SteadyClients(pool.port, "/setSession.php", clients=8, every=0.05, timeout=10, sessions=4).start()
    time.sleep(2)
    tail = LogTail(pool.error_log).start()
    log0 = pool.error_log.size()
    t_stop = time.monotonic()
    ctx.memcached.signal(signal.SIGSTOP)
    time.sleep(p.item7_freeze)
    t_cont = time.monotonic()
    ctx.memcached.signal(signal.SIGCONT)
    time.sleep(p.item7_after_thaw)
    t_end = time.monotonic()
    log1 = pool.error_log.size()
    load.stop()
    tail.stop()
    pool.stop()
    lines, size, sample = pool.error_log.between(log0, log1, keep=1)
    again = tail.matching(r"memcached.*reachable again", t_stop, t_end)
    gone = tail.matching(r"memcached.*unreachable", t_stop, t_end)
    if not again:
        when = "no 'reachable again' line"
    else:
        first = again[0][0]
        when = (f"yes: {first - t_stop:.2f} s into the {p.item7_freeze:.0f} s freeze" if first < t_cont
                else f"no: {first - t_cont:.2f} s after SIGCONT")
    answered, failed, kinds, _, p99, worst = summary(load.between(t_stop, t_end))
    bad_ends = [s.start + s.seconds for s in load.between(t_stop, t_end) if not s.ok or s.seconds > 1.0]
    if not bad_ends:
        recovery = "none failed or slow"
    elif max(bad_ends) > t_end - 1.0:  # still failing at the end of the window
        recovery = f"not within {p.item7_after_thaw:g} s of SIGCONT"
    else:
        recovery = f"{max(0.0, max(bad_ends) - t_cont):.2f} s after SIGCONT"
    window = f"{p.item7_freeze:g} s freeze + {p.item7_after_thaw:g} s"
    out[f"memcached freeze ({window}): log lines"] = \
        f"{log_figures(lines, size, sample)}; {len(gone)} unreachable, {len(again)} reachable again"
    out["'reachable again' logged while still frozen"] = when
    out["freeze: session requests answered / failed, until no failed or > 1 s request"] = \
        f"{answered} / {failures(kinds) if failed else 0}; {recovery}"

    # A memcached kill and restart under session load.
    pool = ctx.pool("item7kill")
    load = SteadyClients(pool.port, "/setSession.php", clients=8, every=0.05, timeout=10, sessions=4).start()
    time.sleep(2)
    tail = LogTail(pool.error_log).start()
    log0 = pool.error_log.size()
    t_kill = time.monotonic()
    ctx.memcached.kill()
    time.sleep(p.item7_down)
    ctx.memcached.start()
    time.sleep(p.item7_after_restart)
    t_end = time.monotonic()
    log1 = pool.error_log.size()
    load.stop()
    tail.stop()
    pool.stop()
    lines, size, sample = pool.error_log.between(log0, log1, keep=1)
    again = tail.matching(r"memcached.*reachable again", t_kill, t_end)
    gone = tail.matching(r"memcached.*unreachable", t_kill, t_end)
    out[f"memcached kill, {p.item7_down:g} s down, restart (+{p.item7_after_restart:g} s): log lines"] = \
        f"{log_figures(lines, size, sample)}; {len(gone)} unreachable, {len(again)} reachable again"
    return out


# ------------------------------------------------------------------ item 8


def _crowds(ctx, name, rlimit, slow_count, idle_count, window):
    """slowloris and idle connections opened at once at `rlimit`, a steady
    good client meanwhile."""
    pool = ctx.pool(name, rlimit_files=rlimit)
    good = SteadyClients(pool.port, "/ping", clients=4, every=0.05).start()
    time.sleep(0.5)
    log0 = pool.error_log.size()
    cpu = ChildCpu(pool).start()
    t0 = time.monotonic()
    slow = Crowd(pool.port, slow_count, slowloris=True).start()
    idle = Crowd(pool.port, idle_count).start()
    time.sleep(max(0.0, t0 + window - time.monotonic()))
    cpu.stop()
    t1 = time.monotonic()
    log1 = pool.error_log.size()
    connected = (slow.connected, idle.connected)
    good.stop()
    slow.stop()
    idle.stop()
    pool.stop()
    lines, size, _ = pool.error_log.between(log0, log1)
    answered, failed, kinds, median, p99, worst = summary(good.between(t0, t1))
    return {
        "connected (slowloris + idle)": f"{connected[0]:,} + {connected[1]:,}",
        "good requests answered / failed": f"{answered} / {failures(kinds) if failed else 0}",
        "good median / p99 / max (answered)": f"{ms(median)} / {ms(p99)} / {ms(worst)}",
        "CPU per child over the window": ", ".join(f"{c:.1f} %" for c in cpu.percents())
                                         + f" (of a core, {cpu.seconds:.1f} s)",
        "error log lines over the window": f"{lines:,}",
    }


def item8(ctx):
    p = ctx.plan
    return _crowds(ctx, "item8", p.high_rlimit, p.item8_slow, p.item8_idle, p.item8_window)


def item1_8(ctx):
    """The issue's target for fds and slow clients: item 1's idle crowd and
    item 8's slowloris crowd together at item 1's rlimit_files."""
    p = ctx.plan
    return _crowds(ctx, "item1_8", p.item1_rlimit, p.item8_slow, p.item1_idle, p.item1_window)


ITEMS = [
    ("1", "one client takes the pool down through file descriptors", item1),
    ("5", "graceful stop (SIGQUIT)", item5),
    ("7", "logs under attack", item7),
    ("8", "slow clients at a high fd limit", item8),
    ("1+8", "the issue's target: idle and slowloris crowds at rlimit_files = 1024", item1_8),
]
