"""The services on loopback: memcached, MariaDB, the three backends and one
nginx in front of them, each with a config written into the run's temp dir."""

import os
import resource
import shutil
import signal
import subprocess
import time

from .procs import BenchError, run_checked, say, wait_for_port

PHP_VERSION = "8.2"
AS_ROOT = os.geteuid() == 0

# The seed's MySQL account (its pages connect as phpUser/phpPass).
DB_USER, DB_PASSWORD = "phpUser", "phpPass"


class Stack:
    """What every backend shares: the temp dir, the processes, the ports, and
    the addresses of memcached and MariaDB once started."""

    def __init__(self, tmp, processes, ports, repo):
        self.tmp = tmp
        self.processes = processes
        self.ports = ports
        self.repo = repo
        self.memcached_port = None
        self.mariadb_port = 1  # nothing listens there: pages that need it fail

    # -------------------------------------------------------------- memcached

    def start_memcached(self):
        self.memcached_port = self.ports.free()
        # 1 GiB: the new-session pages make a session per request, and the 64
        # sessions made before the run must not be evicted by them.
        argv = ["memcached", "-l", "127.0.0.1", "-p", str(self.memcached_port), "-U", "0",
                "-m", "1024", "-c", "8192", "-t", "2"]
        if AS_ROOT:
            argv += ["-u", "root"]
        proc = self.processes.spawn("memcached", argv)
        wait_for_port("memcached", self.memcached_port, 10, proc, self.processes)

    def memcached_stats(self):
        """memcached's counters: commands so far (get, set, add, delete,
        incr...) and connections accepted so far."""
        import socket
        with socket.create_connection(("127.0.0.1", self.memcached_port), timeout=5) as s:
            s.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        stats = {}
        for line in data.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "STAT":
                stats[parts[1]] = parts[2]
        keys = ("cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses", "incr_hits",
                "incr_misses", "decr_hits", "decr_misses")
        return sum(int(stats.get(k, 0)) for k in keys), int(stats.get("total_connections", 0))

    # -------------------------------------------------------------- MariaDB

    def start_mariadb(self):
        self.mariadb_port = self.ports.free()
        data = os.path.join(self.tmp, "mariadb")
        os.makedirs(os.path.join(data, "tmp"))
        sock = os.path.join(data, "m.sock")
        if len(sock) >= 100:
            sock = f"/tmp/bench-mariadb-{self.mariadb_port}.sock"
        user = ["--user=root"] if AS_ROOT else []
        run_checked(["mariadb-install-db", "--no-defaults", "--auth-root-authentication-method=normal",
                     "--skip-test-db", "--skip-name-resolve", f"--datadir={data}/data"] + user,
                    "mariadb-install-db")
        proc = self.processes.spawn("mariadb", [
            "mariadbd", "--no-defaults", f"--datadir={data}/data", f"--socket={sock}",
            f"--pid-file={data}/mariadb.pid", f"--tmpdir={data}/tmp", f"--port={self.mariadb_port}",
            "--bind-address=127.0.0.1", "--skip-name-resolve", "--max-connections=2000"] + user)
        wait_for_port("mariadb", self.mariadb_port, 60, proc, self.processes)
        with open(os.path.join(self.repo, "deploy/sql/010_demo_items.sql")) as f:
            demo = f.read()
        grants = "".join(
            f"CREATE USER '{DB_USER}'@'{host}' IDENTIFIED BY '{DB_PASSWORD}';"
            f"GRANT ALL ON *.* TO '{DB_USER}'@'{host}';" for host in ("127.0.0.1", "localhost"))
        run_checked(["mariadb", "--no-defaults", "--user=root", f"--socket={sock}", "--batch"],
                    "creating the seed's account and the demo table", input=grants + demo)


class Backend:
    """One FastCGI backend on its own loopback port. `proc` is the process
    whose tree is measured for memory."""

    name = "?"

    def __init__(self, stack):
        self.stack = stack
        self.port = None
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Floor(Backend):
    """tests/bench/floor.cpp: answers every request with a fixed body."""

    name = "floor"

    def __init__(self, stack, binary, threads):
        super().__init__(stack)
        self.binary, self.threads = binary, threads

    def start(self):
        self.port = self.stack.ports.free()
        self.proc = self.stack.processes.spawn("floor", [self.binary, str(self.port), str(self.threads)])
        wait_for_port("floor", self.port, 10, self.proc, self.stack.processes)


class Cppfpm(Backend):
    name = "cppfpm"

    def __init__(self, stack, binary, children, threads):
        super().__init__(stack)
        self.binary, self.children, self.threads = binary, children, threads

    def start(self):
        tmp = self.stack.tmp
        self.port = self.stack.ports.free()
        # A private copy: another build may replace the binary during the run.
        binary = os.path.join(tmp, "cppfpm")
        shutil.copy2(self.binary, binary)
        conf = os.path.join(tmp, "cppfpm.conf")
        with open(conf, "w") as f:
            f.write(f"""[global]
pid = {tmp}/cppfpm.pid
error_log = {tmp}/cppfpm-error.log
log_level = notice

[www]
listen = 127.0.0.1:{self.port}
listen.backlog = 511
pm = static
pm.max_children = {self.children}
pm.threads_per_child = {self.threads}
ping.path = /ping
ping.response = pong
session.save_handler = memcached
session.save_path = "tcp://127.0.0.1:{self.stack.memcached_port}"
sql.dsn = "mysql://host=127.0.0.1 port={self.stack.mariadb_port} user={DB_USER} password={DB_PASSWORD}"
""")
        root = ["-R"] if AS_ROOT else []  # the bench pool has no `user`, as php-fpm's below
        run_checked([binary, "-t", "-y", conf] + root, "cppfpm -t")
        self.proc = self.stack.processes.spawn("cppfpm", [binary, "-F", "-y", conf] + root)
        wait_for_port("cppfpm", self.port, 15, self.proc, self.stack.processes)


# The seed's pages for PHP, with this run's memcached and MariaDB addresses.
SET_SESSION_PHP = """<?php
session_start();
if (!isset($_SESSION['Itcys.top'])) {
  $_SESSION['Itcys.top'] = time();
}
print $_SESSION['Itcys.top'];
print "<br><br>";
print "Session ID: " . session_id();
?>
"""

SHOW_SESSION_PHP = """<?php
session_start();
$memcache_obj = new Memcache;
$memcache_obj->connect('127.0.0.1', @MC_PORT@);
$mysess=session_id();
var_dump($memcache_obj->get($mysess));
$memcache_obj->close();
?>
"""

# The seed's testMySQL uses mysql_connect, gone since PHP 7: the same page on
# mysqli, a new connection per request as the seed's.
TEST_MYSQL_PHP = """<?php
      mysqli_report(MYSQLI_REPORT_OFF);
      $link=mysqli_connect('127.0.0.1','phpUser','phpPass','',@DB_PORT@);
        if(!$link)
                echo "<h1>connect MySQL failed</h1>";
        else
                echo "<h1>connect success</h1>";
        if($link) mysqli_close($link);
?>
"""

# What cppfpm's /queryCache.php does, written as a PHP team would with
# pecl-memcache: the tag's generation, then the result under a key made of
# the SQL, the id and that generation (two gets on a hit); on a miss one
# mysqli connection and the row stored for 60 s. Same HTML as cppfpm's.
QUERY_CACHE_PHP = """<?php
$id = isset($_GET['id']) ? $_GET['id'] : '';
if (!is_string($id) || !ctype_digit($id) || (int)$id < 1) {
  http_response_code(400);
  echo "<h1>400 Bad Request</h1>";
  exit;
}
$id = (int)$id;
$sql = 'SELECT id, name, CAST(price AS CHAR) AS price, stock FROM cppfpm_demo.items WHERE id = ?';
$mc = new Memcache;
$mc->connect('127.0.0.1', @MC_PORT@);
$gen = $mc->get('bench.qc.tag.items');
if ($gen === false) {
  $mc->add('bench.qc.tag.items', (string)(int)(microtime(true) * 1e6), 0, 0);
  $gen = $mc->get('bench.qc.tag.items');
}
$key = 'bench.qc.' . sha1($sql . "\\0" . $id . "\\0" . $gen);
$row = $mc->get($key);
if ($row !== false) {
  header('X-Cache: HIT');
} else {
  mysqli_report(MYSQLI_REPORT_OFF);
  $db = mysqli_connect('127.0.0.1', 'phpUser', 'phpPass', '', @DB_PORT@);
  if (!$db) {
    http_response_code(503);
    echo "<h1>503 Service Unavailable</h1>";
    exit;
  }
  $st = $db->prepare($sql);
  $st->bind_param('i', $id);
  $st->execute();
  $row = $st->get_result()->fetch_assoc();
  $db->close();
  if ($row === null) {
    http_response_code(404);
    echo "<h1>404 Not Found</h1>";
    exit;
  }
  $mc->set($key, $row, 0, 60);
  header('X-Cache: MISS');
}
$mc->close();
echo "<table>";
foreach ($row as $k => $v) {
  echo "<tr><th>", htmlspecialchars($k, ENT_QUOTES), "</th><td>",
       $v === null ? 'NULL' : htmlspecialchars((string)$v, ENT_QUOTES), "</td></tr>";
}
echo "</table>";
"""


class PhpFpm(Backend):
    """Debian's php-fpm with opcache and pecl-memcache sessions, pm = static."""

    name = "php-fpm"

    def __init__(self, stack, children):
        super().__init__(stack)
        self.children = children

    def write_pages(self):
        root = os.path.join(self.stack.tmp, "phpPages")
        os.makedirs(root, exist_ok=True)
        pages = {"setSession.php": SET_SESSION_PHP, "showSession.php": SHOW_SESSION_PHP,
                 "testMySQL.php": TEST_MYSQL_PHP, "queryCache.php": QUERY_CACHE_PHP}
        for name, text in pages.items():
            text = text.replace("@MC_PORT@", str(self.stack.memcached_port))
            text = text.replace("@DB_PORT@", str(self.stack.mariadb_port))
            with open(os.path.join(root, name), "w") as f:
                f.write(text)

    def start(self):
        tmp = self.stack.tmp
        fpm = f"php-fpm{PHP_VERSION}"
        self.port = self.stack.ports.free()
        self.write_pages()
        # Debian's own php.ini for fpm, then what the seed's stack needs
        # (later lines win).
        ini = os.path.join(tmp, "php.ini")
        shutil.copy(f"/etc/php/{PHP_VERSION}/fpm/php.ini", ini)
        with open(ini, "a") as f:
            f.write(f"""
; tests/bench
[PHP]
error_log = {tmp}/php-errors.log
[opcache]
opcache.enable = 1
[Session]
session.save_handler = memcache
session.save_path = "tcp://127.0.0.1:{self.stack.memcached_port}"
""")
        conf = os.path.join(tmp, "php-fpm.conf")
        user = "user = root\ngroup = root\n" if AS_ROOT else ""
        with open(conf, "w") as f:
            f.write(f"""[global]
pid = {tmp}/php-fpm.pid
error_log = {tmp}/php-fpm-error.log
daemonize = no

[bench]
{user}listen = 127.0.0.1:{self.port}
listen.backlog = 511
pm = static
pm.max_children = {self.children}
ping.path = /ping
ping.response = pong
""")
        modules = run_checked([fpm, "-c", ini, "-m"], f"{fpm} -m").split()
        for module, package in (("memcache", f"php{PHP_VERSION}-memcache"), ("OPcache", "opcache"),
                                ("mysqli", f"php{PHP_VERSION}-mysql")):
            if module not in modules:
                raise BenchError(f"{fpm} has no {module} module ({package}); run deploy/install-deps")
        root = ["-R"] if AS_ROOT else []
        run_checked([fpm, "-t", "-c", ini, "-y", conf] + root, f"{fpm} -t")
        self.proc = self.stack.processes.spawn("php-fpm", [fpm, "-F", "-c", ini, "-y", conf] + root)
        wait_for_port("php-fpm", self.port, 15, self.proc, self.stack.processes)


class Nginx:
    """One nginx, one worker by default, with one `server` (port) per backend
    and upstream keepalive setting. Each keeps the seed's `location ~ \\.php$`
    block; `/ping` goes to the backend's ping page."""

    def __init__(self, stack, workers):
        self.stack = stack
        self.workers = workers
        self.dir = os.path.join(stack.tmp, "nginx")
        self.proc = None
        self.ports = {}  # (backend name, keepalive) -> port

    def error_lines(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def _server(self, backend, keepalive, port):
        upstream = f"{backend.name.replace('-', '_')}_{keepalive}"
        cache = "" if keepalive == "none" else f"\n        keepalive {keepalive};"
        keep_conn = "off" if keepalive == "none" else "on"
        return f"""
    upstream {upstream} {{
        server 127.0.0.1:{backend.port};{cache}
    }}
    server {{
        listen 127.0.0.1:{port};
        location ~ \\.php$ {{
            root           {self.stack.tmp}/phpPages;
            fastcgi_pass   {upstream};
            fastcgi_keep_conn {keep_conn};
            fastcgi_index  index.php;
            fastcgi_param  SCRIPT_FILENAME  $document_root$fastcgi_script_name;
            include        fastcgi_params;
        }}
        location = /ping {{
            root           {self.stack.tmp}/phpPages;
            fastcgi_pass   {upstream};
            fastcgi_keep_conn {keep_conn};
            fastcgi_param  SCRIPT_FILENAME  $document_root$fastcgi_script_name;
            include        fastcgi_params;
        }}
    }}
"""

    def start(self, backends, keepalives):
        os.makedirs(self.dir)
        shutil.copy("/etc/nginx/fastcgi_params", os.path.join(self.dir, "fastcgi_params"))
        servers = []
        for backend in backends:
            for keepalive in keepalives:
                port = self.stack.ports.free()
                self.ports[(backend.name, keepalive)] = port
                servers.append(self._server(backend, keepalive, port))
        d = self.dir
        conf = os.path.join(d, "nginx.conf")
        # As many descriptors as this process may have: a worker past its
        # hard limit would log an alert each reload.
        files = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536)
        with open(conf, "w") as f:
            f.write(("user root;\n" if AS_ROOT else "") + f"""daemon off;
master_process on;
worker_processes {self.workers};
worker_rlimit_nofile {files};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {files // 2}; }}
http {{
    access_log off;
    # wrk's connections stay open for the whole cell (nginx's default closes
    # them every 1000 requests); the upstream side keeps nginx's defaults.
    keepalive_requests 1000000;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{"".join(servers)}}}
""")
        run_checked(["nginx", "-t", "-q", "-p", d, "-c", conf, "-e", f"{d}/error.log"], "nginx -t")
        self.proc = self.stack.processes.spawn("nginx", ["nginx", "-p", d, "-c", conf, "-e", f"{d}/error.log"])
        for port in self.ports.values():
            wait_for_port("nginx", port, 10, self.proc, self.stack.processes)

    def _workers(self):
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                return {int(p) for p in f.read().split()}
        except OSError:
            return set()

    def restart_workers(self):
        """A graceful reload: new workers, and the old ones close every kept
        connection, to the backends too. Each cell starts from no kept
        connection, so an idle one from the cell before (which pins a
        php-fpm child) does not weigh on the next."""
        old = self._workers()
        os.kill(self.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            current = self._workers()
            if not (current & old) and len(current) >= self.workers:
                return
            if self.proc.poll() is not None:
                raise BenchError("nginx exited on reload: " + self.stack.processes.log_tail("nginx"))
            time.sleep(0.05)
        say("warning: nginx's old workers did not exit within 15 s of the reload")


def versions():
    """One line per program measured or used."""
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            text = (done.stdout + done.stderr).strip()
            return text.splitlines()[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    return {
        "nginx": first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "php-fpm": first_line([f"php-fpm{PHP_VERSION}", "-v"]),
        "memcached": first_line(["memcached", "-V"]),
        "mariadb": first_line(["mariadbd", "--version"]),
        "wrk": first_line(["wrk", "-v"]),
    }
