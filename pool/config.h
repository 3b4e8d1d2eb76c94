#pragma once
// The configuration in php-fpm's own format (php-fpm.conf + pool.d/*.conf):
// a [global] section and one section per pool, `include=` with globs,
// `$pool` and `${ENV}` substitution. See DESIGN.md "Config file".
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "session/settings.h"

namespace cppfpm::pool {

enum class PmMode { static_, dynamic, ondemand };

// "static", "dynamic" or "ondemand", as written in the config file.
std::string_view to_string(PmMode mode);

// One finding of the loader; str() is what `cppfpm -t` prints.
struct Diagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 when the finding concerns the file as a whole
  std::string message;
  std::string str() const;  // "FILE:LINE: message"
};

struct GlobalConfig {
  std::string pid;
  // php-fpm defaults to log/php-fpm.log under its prefix; "" means stderr.
  std::string error_log;
  std::string log_level = "notice";  // alert|error|warning|notice|debug
  // error_log = syslog: syslog(3) under this ident and facility (LOG_DAEMON
  // by default, as php-fpm). php-fpm's ident default is "php-fpm"; cppfpm's
  // is its own name, as its default error log is log/cppfpm.log: write
  // syslog.ident = php-fpm to keep rsyslog rules written for php-fpm.
  std::string syslog_ident = "cppfpm";
  int syslog_facility = 3 << 3;  // LOG_DAEMON
  // php-fpm's longest log line, decoration included (a worker's longer
  // line is wrapped); at least 512 as php-fpm requires.
  int log_limit = 1024;
  // Accepted as php-fpm's; cppfpm writes each line with one write(2)
  // either way, and php-fpm 8.2 writes the same lines with either value.
  bool log_buffering = true;
  bool daemonize = true;
  int emergency_restart_threshold = 0;
  std::chrono::seconds emergency_restart_interval{0};
  std::chrono::seconds process_control_timeout{0};
  std::chrono::seconds systemd_interval{10};
};

struct PoolConfig {
  std::string name;  // the section name
  // php-fpm's pool prefix: relative paths of this pool (listen, access.log,
  // slowlog) resolve against it instead of the global prefix (-p).
  std::string prefix;

  std::string listen = "127.0.0.1:9000";  // host:port, port, or unix socket path
  // php-fpm's pm.status_listen: a second socket that serves only the status
  // and ping pages, accepted on whatever the pool's threads are doing.
  std::string pm_status_listen;
  // php-fpm 8's default on Linux: -1, the kernel's maximum (somaxconn).
  int listen_backlog = -1;
  std::vector<std::string> listen_allowed_clients;  // empty: any client
  std::string listen_owner, listen_group, listen_mode = "0660";
  // listen.acl_users / listen.acl_groups: read-write for each by a POSIX ACL
  // on the unix socket; listen.owner and listen.group are then ignored.
  std::vector<std::string> listen_acl_users, listen_acl_groups;
  std::string user, group;

  PmMode pm = PmMode::dynamic;
  int pm_max_children = 5;
  int pm_start_servers = 2;
  // pm = dynamic without pm.start_servers: set from the spare bounds, and
  // said at start as php-fpm does.
  bool pm_start_servers_defaulted = false;
  int pm_min_spare_servers = 1;
  int pm_max_spare_servers = 3;
  int pm_max_spawn_rate = 32;
  std::chrono::seconds pm_process_idle_timeout{10};
  int pm_max_requests = 0;  // 0: children are never recycled
  std::string pm_status_path, ping_path, ping_response = "pong";

  std::chrono::seconds request_terminate_timeout{0}, request_slowlog_timeout{0};
  std::string slowlog;
  std::string access_log, access_format = "%R - %u %t \"%m %r\" %s";
  // Requests left out of the access log (php-fpm 8.2's access.suppress_path[]):
  // %r is one of these, the method GET or HEAD, no body, no query, status 2xx.
  std::vector<std::string> access_suppress_paths;
  bool catch_workers_output = false;
  bool decorate_workers_output = true;
  int log_limit = 1024;  // [global] log_limit, copied into each pool
  int rlimit_files = 0;  // 0: keep the inherited limit
  // cppfpm's own, against idle and slow clients (server/fastcgi/event_loop_heads.h):
  // a connection that sends nothing this long after accept is closed (0: never);
  // at most this many connections per child without a complete first request
  // head, the oldest closed first (0: no cap).
  std::chrono::milliseconds request_head_first_byte_timeout{10000};
  int pm_max_pending_heads = 1000;

  // env[NAME] = value, in file order; a value written `$NAME` is already
  // replaced by the master's environment variable, as php-fpm does.
  std::vector<std::pair<std::string, std::string>> env;
  bool clear_env = true;

  int threads_per_child = 8;  // pm.threads_per_child
  // pm.queue_per_child: request heads a child at pm.max_children takes
  // beyond its free threads, to wait FIFO for the next one (-1: as many as
  // pm.threads_per_child; 0: none, the backlog holds them).
  int queue_per_child = -1;
  int effective_queue_per_child() const;
  // pm.queue_timeout: a request waiting that long in a child's queue for a
  // thread is answered 503 with Retry-After (0, the default: it waits as long
  // as it takes, as a connection in php-fpm's backlog does).
  std::chrono::milliseconds pm_queue_timeout{0};
  // pm.reject_when_full: once the pool is saturated (pm.max_children, every
  // thread busy, every queue full) a new request is answered 503 with
  // Retry-After at once; no: it waits in the kernel backlog (php-fpm).
  // Off by default: on, a burst past threads + queue is refused at once
  // rather than absorbed by the backlog (see ARCHITECTURE.md).
  bool pm_reject_when_full = false;
  // pm.max_memory: a child whose resident memory passes it finishes its
  // requests and exits, and the pm starts another (0: no limit).
  std::uint64_t pm_max_memory = 0;

  std::string session_save_handler = "memcached";  // "memcached" or "memory"
  std::string session_save_path = "tcp://127.0.0.1:11211";
  session::Settings session;

  std::string sql_dsn = "mysql://host=127.0.0.1 port=3306 user=phpUser password=phpPass";
  // sql.servers: "host[:port], ..." in preference order; the dsn's host and
  // port are replaced by each in turn. "" = the dsn's own server alone.
  std::string sql_servers;
  int sql_pool_size = 0;  // 0 = threads_per_child
  std::chrono::milliseconds sql_connect_timeout{2000};
  std::chrono::milliseconds sql_read_timeout{5000}, sql_write_timeout{5000};
  std::string cache_servers;  // "" = session_save_path's servers
  std::chrono::seconds cache_ttl{60};

  // The values the "0 / empty means..." defaults above stand for.
  int effective_sql_pool_size() const;
  const std::string& effective_cache_servers() const;
};

struct Config {
  GlobalConfig global;
  std::vector<PoolConfig> pools;  // in order of first appearance
  std::string path;               // the file loaded; "" for default_config()
};

struct LoadResult {
  std::optional<Config> config;  // set exactly when there are no errors
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  bool ok() const { return config.has_value() && errors.empty(); }
};

// `key = value` settings applied to every pool before the pool's own lines
// (cppfpm -d, like php -d under a pool's php_value): the pool file wins.
using PoolDefaults = std::vector<std::pair<std::string, std::string>>;

// Reads `path` and the files it includes. An unreadable file is an error.
LoadResult load_config(const std::string& path, const PoolDefaults& defaults = {});
// Parses `text` as if it were the file `name` (includes are resolved
// relative to name's directory).
LoadResult load_config_string(std::string_view text, const std::string& name);
// One pool "www" with every default; used when no config file exists.
Config default_config();

}  // namespace cppfpm::pool
