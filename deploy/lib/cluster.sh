# The seed's whole LEMMP cluster on loopback, sourced by deploy/lemmp:
#
#   deploy/lemmp up --cluster [--topology 1|2]
#   deploy/lemmp status | down
#   deploy/lemmp stop|start|kill|freeze|thaw NODE
#   deploy/lemmp drill
#
# One 127.x address per host, numbered as the seed's 192.168.100.x hosts:
#
#   front  .10  nginx, the only door          web1 .4, web2 .5   nginx
#   fpm1   .6, fpm2 .7   cppfpm on :9000      mc1  .8, mc2 .18   memcached
#   db1    .9, db2 .19, db3 .29   MariaDB Galera (rsync SST)
#
# Every node runs in its own process group (setsid), so `kill` (SIGKILL)
# and `freeze` (SIGSTOP) hit a node as a crash or a hang of its host would:
# master and workers at once. All state is under $CSTATE (= $STATE/cluster).
#
# Addresses: LEMMP_NET (127.0.100) is the first three octets. Ports:
# LEMMP_PORT_BASE, when set, numbers them all from there (tests pick a free
# range); otherwise LEMMP_HTTP_PORT (8080), LEMMP_FPM_PORT (9000),
# LEMMP_MEMCACHED_PORT (11211), LEMMP_MARIADB_PORT (3306) and Galera's
# 4567 (group), 4568 (IST), 4444 (SST).

CSTATE=$STATE/cluster
NET=${LEMMP_NET:-127.0.100}
if [ -n "${LEMMP_PORT_BASE:-}" ]; then
  C_HTTP=$LEMMP_PORT_BASE
  C_FPM=$((LEMMP_PORT_BASE + 1))
  C_MC=$((LEMMP_PORT_BASE + 2))
  C_DB=$((LEMMP_PORT_BASE + 3))
  C_GCOMM=$((LEMMP_PORT_BASE + 4))
  C_IST=$((LEMMP_PORT_BASE + 5))
  C_SST=$((LEMMP_PORT_BASE + 6))
else
  C_HTTP=$HTTP_PORT C_FPM=$FPM_PORT C_MC=$MEMCACHED_PORT C_DB=$MARIADB_PORT
  C_GCOMM=4567 C_IST=4568 C_SST=4444
fi
# A killed node stalls the cluster's commits (and causal reads) until the
# others suspect it: 5 s by Galera's defaults, 2 s with these, sized
# for a LAN (raise them on a WAN).
GALERA_TIMEOUTS="evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.install_timeout=PT4S"
NODES=(db1 db2 db3 mc1 mc2 fpm1 fpm2 web1 web2 front)

node_addr() {
  case $1 in
    front) echo "$NET.10" ;; web1) echo "$NET.4" ;; web2) echo "$NET.5" ;;
    fpm1) echo "$NET.6" ;; fpm2) echo "$NET.7" ;;
    mc1) echo "$NET.8" ;; mc2) echo "$NET.18" ;;
    db1) echo "$NET.9" ;; db2) echo "$NET.19" ;; db3) echo "$NET.29" ;;
    *) return 1 ;;
  esac
}

node_port() {
  case $1 in
    front | web*) echo "$C_HTTP" ;; fpm*) echo "$C_FPM" ;;
    mc*) echo "$C_MC" ;; db*) echo "$C_DB" ;;
  esac
}

node_role() {
  case $1 in
    front) echo "front nginx" ;; web*) echo "web nginx" ;; fpm*) echo "cppfpm" ;;
    mc*) echo "memcached" ;; db*) echo "MariaDB Galera" ;;
  esac
}

node_program() {
  case $1 in
    front | web*) echo nginx ;; fpm*) echo cppfpm ;; mc*) echo memcached ;; db*) echo mariadbd ;;
  esac
}

is_node() { node_addr "$1" >/dev/null 2>&1; }
ndir() { echo "$CSTATE/$1"; }
# Where a node logs: its output, or for MariaDB its error log.
nlog() { if [[ $1 == db* ]]; then echo "$CSTATE/$1/mariadbd.err"; else echo "$CSTATE/$1/log"; fi; }

# The pid of node $1's main process when it runs (frozen included), or nothing.
node_pid() {
  local file=$CSTATE/$1/pid pid exe
  [ -s "$file" ] || return 0
  pid=$(head -n1 "$file" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  [ -d "/proc/$pid" ] || return 0
  grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  exe=$(basename "${exe% (deleted)}")
  [ "$exe" = "$(node_program "$1")" ] && echo "$pid"
  return 0
}

# The process `spawn` started still lives (it may not have exec'd its
# program yet, so its name is not checked).
spawned_alive() {
  local pid
  pid=$(head -n1 "$CSTATE/$1/pid" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ] &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

node_state() {
  local pid
  pid=$(node_pid "$1")
  if [ -z "$pid" ]; then
    echo down
  elif grep -q '^State:[[:space:]]*T' "/proc/$pid/status" 2>/dev/null; then
    echo frozen
  else
    echo up
  fi
}

addr_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_node_port() {  # node seconds
  local addr port i
  addr=$(node_addr "$1")
  port=$(node_port "$1")
  for ((i = 0; i < $2 * 10; i++)); do
    addr_open "$addr" "$port" && return 0
    spawned_alive "$1" || die "$1 exited; see $(nlog "$1"): $(tail -n 5 "$(nlog "$1")" 2>/dev/null)"
    sleep 0.1
  done
  die "$1 did not open $addr:$port within $2 s; see $(ndir "$1")/log"
}

# Starts "$@" in a new session (its own process group) logging to the
# node's log; records the pid.
spawn() {  # node command...
  local node=$1
  shift
  setsid "$@" </dev/null >>"$(ndir "$node")/log" 2>&1 &
  echo $! >"$(ndir "$node")/pid"
}

db_socket() {
  local s=$CSTATE/$1/mariadb.sock
  [ ${#s} -lt 100 ] || s=/tmp/lemmp-$(echo "$CSTATE" | md5sum | cut -c1-8)-$1.sock
  echo "$s"
}

db_sql() {  # node sql-args...
  local node=$1
  shift
  mariadb --no-defaults --user=root --socket="$(db_socket "$node")" --batch --skip-column-names "$@"
}

db_ready() { [ "$(db_sql "$1" -e "SHOW STATUS LIKE 'wsrep_ready'" 2>/dev/null | cut -f2)" = ON ]; }

db_nodes_up() {
  local n count=0
  for n in db1 db2 db3; do [ "$(node_state "$n")" = up ] && count=$((count + 1)); done
  echo $count
}

start_db() {  # node
  local node=$1 dir data user=() bootstrap=() addrs=() n
  dir=$(ndir "$node")
  data=$dir/data
  mkdir -p "$data" "$dir/tmp"
  for n in db1 db2 db3; do addrs+=("$(node_addr $n):$C_GCOMM"); done
  if as_root; then
    # rsync SST runs as the server's user and must read the datadir: a
    # root-owned one breaks it, so the nodes run as `mysql`.
    user=(--user=mysql)
    chown -R mysql:mysql "$dir"
    runuser -u mysql -- test -x "$dir" ||
      die "the mysql user cannot reach $dir: let it through every directory above (chmod o+x)"
  fi
  if [ "$(db_nodes_up)" -eq 0 ]; then
    # No node runs: this one starts a new cluster, from its own data.
    if [ ! -d "$data/mysql" ]; then
      say "$node: initialising a datadir"
      mariadb-install-db --no-defaults --auth-root-authentication-method=normal --skip-test-db \
        --skip-name-resolve --datadir="$data" "${user[@]}" >>"$dir/log" 2>&1 ||
        die "mariadb-install-db failed; see $dir/log"
    fi
    [ -f "$data/grastate.dat" ] && sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$data/grastate.dat"
    bootstrap=(--wsrep-new-cluster)
  fi
  local a start_position=()
  a=$(node_addr "$node")
  if [ ${#bootstrap[@]} -eq 0 ] && [ -d "$data/mysql" ]; then
    # A node back from a crash: its last committed position, read from
    # InnoDB as mysqld_safe's galera_recovery does, lets it catch up from
    # a donor's write-set cache (IST) instead of copying every file (SST,
    # which blocks the donor while it runs).
    local pos
    mariadbd --no-defaults "${user[@]}" --datadir="$data" --tmpdir="$dir/tmp" \
      --socket="$dir/recover.sock" --skip-networking --innodb-buffer-pool-size=32M \
      --binlog-format=ROW --innodb-autoinc-lock-mode=2 \
      --wsrep-on=ON --wsrep-provider=/usr/lib/galera/libgalera_smm.so --wsrep-recover \
      --wsrep-cluster-address=gcomm:// \
      --log-error="$dir/recover.err" >/dev/null 2>&1 || true
    pos=$(sed -n 's/.*WSREP: Recovered position: *//p' "$dir/recover.err" 2>/dev/null | tail -n1 || true)
    rm -f "$dir/recover.err"
    [[ $pos =~ ^[0-9a-f-]+:[0-9]+$ ]] && start_position=(--wsrep-start-position="$pos")
  fi
  spawn "$node" mariadbd --no-defaults "${user[@]}" --datadir="$data" --socket="$(db_socket "$node")" \
    --pid-file="$dir/mariadbd.pid" --tmpdir="$dir/tmp" --port="$C_DB" --bind-address="$a" \
    --skip-name-resolve --log-error="$dir/mariadbd.err" \
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2 \
    --innodb-buffer-pool-size=32M --max-connections=200 \
    --wsrep-on=ON --wsrep-provider=/usr/lib/galera/libgalera_smm.so --wsrep-cluster-name=lemmp \
    --wsrep-cluster-address="gcomm://$(
      IFS=,
      echo "${addrs[*]}"
    )" \
    --wsrep-node-name="$node" --wsrep-node-address="$a:$C_GCOMM" \
    --wsrep-provider-options="gmcast.listen_addr=tcp://$a:$C_GCOMM;ist.recv_addr=$a:$C_IST;$GALERA_TIMEOUTS" \
    --wsrep-sst-receive-address="$a:$C_SST" --wsrep-sst-method=rsync \
    --wsrep-sst-donor="$(sst_donors "$node")" "${start_position[@]}" "${bootstrap[@]}"
}

# A joiner's state comes from the last node of sql.servers' order first:
# a donor is blocked while it copies, and cppfpm writes to db1 (then db2).
sst_donors() {
  case $1 in
    db1) echo "db3,db2," ;; db2) echo "db3,db1," ;; db3) echo "db2,db1," ;;
  esac
}

wait_db_ready() {  # node seconds
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    db_ready "$1" && return 0
    spawned_alive "$1" || die "$1 exited; see $(nlog "$1"): $(grep -h ERROR "$(nlog "$1")" 2>/dev/null | tail -n 5)"
    sleep 0.2
  done
  die "$1 did not become wsrep_ready within $2 s; see $(nlog "$1")"
}

# The seed's account, from any 127.x address, and the demo schema: once,
# on the bootstrapped node; Galera carries both to the others.
load_schema() {  # node
  local f
  db_sql "$1" -e "
    CREATE USER IF NOT EXISTS 'phpUser'@'127.%' IDENTIFIED BY 'phpPass';
    CREATE USER IF NOT EXISTS 'phpUser'@'localhost' IDENTIFIED BY 'phpPass';
    GRANT ALL ON *.* TO 'phpUser'@'127.%';
    GRANT ALL ON *.* TO 'phpUser'@'localhost';" || die "creating phpUser failed"
  for f in "$REPO"/deploy/sql/*.sql; do
    [ -e "$f" ] || continue
    db_sql "$1" <"$f" || die "loading $f failed"
  done
}

start_mc() {
  local user=()
  as_root && user=(-u root)
  spawn "$1" memcached -l "$(node_addr "$1")" -p "$C_MC" -U 0 -m 64 "${user[@]}"
}

# deploy/cppfpm.conf with this node's address, both memcached nodes (one
# replica of each session) and the three MariaDB nodes.
fpm_conf() {  # node
  local db="" n
  for n in db1 db2 db3; do db+="${db:+, }$(node_addr $n):$C_DB"; done
  sed -e "s/^listen = 127\.0\.0\.1:9000/listen = $(node_addr "$1"):$C_FPM/" \
    -e "s|^session.save_path = .*|session.save_path = \"tcp://$(node_addr mc1):$C_MC, tcp://$(node_addr mc2):$C_MC\"|" \
    -e "s/port=3306/port=$C_DB/" \
    "$REPO/deploy/cppfpm.conf"
  cat <<EOF

; deploy/lemmp up --cluster: every session on both memcached nodes, and the
; Galera nodes in preference order (sql.servers replaces sql.dsn's host).
session.replicas = 1
sql.servers = $db
pm.status_path = /fpm-status
EOF
}

start_fpm() {
  local conf
  conf=$(ndir "$1")/cppfpm.conf
  fpm_conf "$1" >"$conf"
  "$BUILD_DIR/cppfpm" -t -y "$conf" >>"$(ndir "$1")/log" 2>&1 ||
    die "cppfpm -t rejected $conf: $(tail -n 5 "$(ndir "$1")/log")"
  spawn "$1" "$BUILD_DIR/cppfpm" -F -y "$conf"
}

nginx_conf() {  # node
  local template user_line=""
  as_root && user_line="user root;"
  case $1 in
    front) template=$REPO/deploy/nginx/cluster-front-$(cat "$CSTATE/topology").conf.in ;;
    *) template=$REPO/deploy/nginx/cluster-web.conf.in ;;
  esac
  sed -e "s|@USER_LINE@|$user_line|" -e "s|@NGINX_DIR@|$REPO/deploy/nginx|g" \
    -e "s|@LISTEN@|$(node_addr "$1"):$C_HTTP|" -e "s|@NODE@|$1|g" -e "s|@HTML@|$CSTATE/html|" \
    -e "s|@WEB1@|$(node_addr web1):$C_HTTP|" -e "s|@WEB2@|$(node_addr web2):$C_HTTP|" \
    "$template"
}

start_nginx_node() {
  local dir
  dir=$(ndir "$1")
  nginx_conf "$1" >"$dir/nginx.conf"
  sed -e "s|@FPM1@|$(node_addr fpm1):$C_FPM|" -e "s|@FPM2@|$(node_addr fpm2):$C_FPM|" \
    "$REPO/deploy/nginx/cluster-php-upstream.conf.in" >"$dir/php-upstream.conf"
  cp /etc/nginx/fastcgi_params "$dir/fastcgi_params"
  nginx -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" 2>>"$dir/log" ||
    die "nginx rejected $dir/nginx.conf: $(tail -n 3 "$dir/log")"
  spawn "$1" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
}

# Starts one node and waits until it serves. A MariaDB node joins the
# running ones (IST or rsync SST), or bootstraps when none runs.
start_node() {  # node
  local node=$1
  [ "$(node_state "$node")" = down ] || {
    say "$node already runs (pid $(node_pid "$node"))"
    return 0
  }
  addr_open "$(node_addr "$node")" "$(node_port "$node")" &&
    die "$(node_addr "$node"):$(node_port "$node") is taken by another program (not lemmp's $node)"
  mkdir -p "$(ndir "$node")"
  case $node in
    db*) start_db "$node" ;;
    mc*) start_mc "$node" ;;
    fpm*) start_fpm "$node" ;;
    *) start_nginx_node "$node" ;;
  esac
}

wait_node() {  # node
  case $1 in
    db*) wait_db_ready "$1" 120 ;;
    *) wait_node_port "$1" 15 ;;
  esac
}

kill_node() {  # node signal
  local pid
  pid=$(node_pid "$1")
  [ -n "$pid" ] || return 0
  # The node's whole process group: master and workers.
  kill "-$2" -- "-$pid" 2>/dev/null || kill "-$2" "$pid"
}

stop_node() {  # node
  local pid i
  pid=$(node_pid "$1")
  [ -n "$pid" ] || return 0
  kill -CONT -- "-$pid" 2>/dev/null || true
  kill -TERM "$pid"
  for ((i = 0; i < 300; i++)); do
    [ -z "$(node_pid "$1")" ] && break
    sleep 0.1
  done
  if [ -n "$(node_pid "$1")" ]; then
    say "$1 (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
    kill_node "$1" KILL
  fi
  # Workers a killed master left behind.
  kill -KILL -- "-$pid" 2>/dev/null || true
  say "$1 stopped (pid $pid)"
}

cluster_up() {  # topology
  local t0 n
  t0=$(date +%s%N)
  case $1 in 1 | 2) ;; *) die "--topology must be 1 or 2" ;; esac
  ensure_deps
  build
  mkdir -p "$CSTATE/html"
  if [ -f "$CSTATE/topology" ] && [ "$(cat "$CSTATE/topology")" != "$1" ] &&
    [ "$(node_state front)" != down ]; then
    die "the cluster runs topology $(cat "$CSTATE/topology"); run '$0 down' first"
  fi
  echo "$1" >"$CSTATE/topology"
  cat >"$CSTATE/html/index.html" <<EOF
<!doctype html>
<title>LEMMP cluster on cppfpm</title>
<h1>LEMMP cluster on cppfpm (topology $1)</h1>
<ul>
<li><a href="/setSession.php">setSession.php</a>
<li><a href="/showSession.php">showSession.php</a>
<li><a href="/testMySQL.php">testMySQL.php</a>
<li><a href="/queryCache.php?id=1">queryCache.php?id=1</a>
</ul>
EOF
  # The first MariaDB node bootstraps the cluster; while the other two join
  # (state transfer), everything else starts.
  local fresh=0
  [ -d "$(ndir db1)/data/mysql" ] || fresh=1
  start_node db1
  wait_node db1
  [ $fresh -eq 1 ] && load_schema db1
  for n in db2 db3 mc1 mc2 fpm1 fpm2 web1 web2 front; do start_node "$n"; done
  for n in mc1 mc2 fpm1 fpm2 web1 web2 front db2 db3; do wait_node "$n"; done
  [ $fresh -eq 1 ] || load_schema db1
  cluster_status || true
  echo
  local ms=$((($(date +%s%N) - t0) / 1000000))
  say "cluster (topology $1) up in $((ms / 1000)).$((ms % 1000 / 100)) s"
  say "the front: http://$(node_addr front):$C_HTTP/"
}

cluster_down() {
  local i
  # The front first, the databases last (db1 last: it bootstraps next time).
  for ((i = ${#NODES[@]} - 1; i >= 0; i--)); do stop_node "${NODES[i]}"; done
}

# The node's `accepted conn` and the requests its children served, from
# its status page (?full), asked over FastCGI: nginx's static files never
# show up there.
fpm_counts() {
  python3 "$REPO/deploy/lib/fcgi_get.py" "$(node_addr "$1")" "$C_FPM" '/fpm-status?full' 2>/dev/null |
    awk -F: '/^accepted conn/ { a = $2 + 0 } /^requests/ { r += $2 } END { printf "accepted conn %d, requests %d", a, r }'
}

cluster_status() {
  local n pid state rc=0 galera
  printf '%-6s %-15s %-22s %-8s %s\n' NODE ROLE ADDRESS PID STATE
  for n in front web1 web2 fpm1 fpm2 mc1 mc2 db1 db2 db3; do
    pid=$(node_pid "$n")
    state=$(node_state "$n")
    galera=""
    if [[ $n == db* ]] && [ "$state" = up ]; then
      galera=" (wsrep_ready $(db_sql "$n" -e "SHOW STATUS LIKE 'wsrep_ready'" 2>/dev/null | cut -f2), cluster size $(db_sql "$n" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | cut -f2))"
    elif [[ $n == fpm* ]] && [ "$state" = up ]; then
      galera=" ($(fpm_counts "$n"))"
    fi
    printf '%-6s %-15s %-22s %-8s %s\n' "$n" "$(node_role "$n")" \
      "$(node_addr "$n"):$(node_port "$n")" "${pid:--}" "$state$galera"
    [ "$state" = up ] || rc=3
  done
  echo "topology: $(cat "$CSTATE/topology" 2>/dev/null || echo -)   state: $CSTATE"
  return $rc
}

cluster_node_cmd() {  # stop|start|kill|freeze|thaw node
  is_node "${2:-}" || die "no node '${2:-}'; nodes: ${NODES[*]}"
  [ -f "$CSTATE/topology" ] || die "no cluster in $CSTATE; run '$0 up --cluster' first"
  case $1 in
    stop) stop_node "$2" ;;
    start)
      start_node "$2"
      wait_node "$2"
      say "$2 up (pid $(node_pid "$2"))"
      ;;
    kill) kill_node "$2" KILL ;;
    freeze) kill_node "$2" STOP ;;
    thaw) kill_node "$2" CONT ;;
  esac
}

cluster_drill() {
  [ -f "$CSTATE/topology" ] || die "no cluster in $CSTATE; run '$0 up --cluster' first"
  python3 "$REPO/deploy/lib/drill.py" --lemmp "$REPO/deploy/lemmp" \
    --front "http://$(node_addr front):$C_HTTP" --topology "$(cat "$CSTATE/topology")" "$@"
}
