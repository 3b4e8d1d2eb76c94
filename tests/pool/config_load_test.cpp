#include <catch2/catch.hpp>

#include "config_test_support.h"
#include "pool/config.h"

using namespace cppfpm::pool;
using namespace cppfpm::pool::test;
using namespace std::chrono_literals;

namespace {

// Loads `text` and requires it to be clean: no errors, no warnings.
Config load_clean(const std::string& text) {
  LoadResult result = load_config_string(text, "test.conf");
  INFO(dump(result));
  REQUIRE(result.ok());
  REQUIRE(result.warnings.empty());
  return *result.config;
}

}  // namespace

TEST_CASE("config: default_config is one www pool with php-fpm's defaults") {
  Config config = default_config();
  CHECK(config.path.empty());
  CHECK(config.global.pid.empty());
  CHECK(config.global.error_log.empty());
  CHECK(config.global.log_level == "notice");
  CHECK(config.global.daemonize);
  CHECK(config.global.emergency_restart_threshold == 0);
  CHECK(config.global.emergency_restart_interval == 0s);
  CHECK(config.global.process_control_timeout == 0s);
  CHECK(config.global.systemd_interval == 10s);
  REQUIRE(config.pools.size() == 1);
  const PoolConfig& www = config.pools[0];
  CHECK(www.name == "www");
  CHECK(www.listen == "127.0.0.1:9000");
  CHECK(www.listen_backlog == -1);  // php-fpm 8 on Linux: the kernel's somaxconn
  CHECK(www.listen_mode == "0660");
  CHECK(www.pm == PmMode::dynamic);
  CHECK(www.pm_max_children == 5);
  CHECK(www.pm_start_servers == 2);
  CHECK(www.pm_min_spare_servers == 1);
  CHECK(www.pm_max_spare_servers == 3);
  CHECK(www.pm_max_spawn_rate == 32);
  CHECK(www.pm_process_idle_timeout == 10s);
  CHECK(www.ping_response == "pong");
  CHECK(www.clear_env);
  CHECK(www.threads_per_child == 8);
  CHECK(www.session_save_handler == "memcached");
  CHECK(www.session_save_path == "tcp://127.0.0.1:11211");
  CHECK(www.session.name == "PHPSESSID");
  CHECK(www.session.sid_length == 26);
  CHECK(www.effective_sql_pool_size() == 8);
  CHECK(www.effective_cache_servers() == "tcp://127.0.0.1:11211");
  CHECK(www.cache_ttl == 60s);
  CHECK(www.sql_connect_timeout == 2000ms);
  CHECK(to_string(www.pm) == "dynamic");
}

TEST_CASE("config: a bare pool section gets the same defaults as default_config") {
  Config config = load_clean("[www]\n");
  CHECK(config.path == "test.conf");
  REQUIRE(config.pools.size() == 1);
  PoolConfig loaded = config.pools[0];
  PoolConfig defaults = default_config().pools[0];
  CHECK(loaded.listen == defaults.listen);
  CHECK(loaded.pm_start_servers == defaults.pm_start_servers);
  CHECK(loaded.access_format == defaults.access_format);
  CHECK(loaded.sql_dsn == defaults.sql_dsn);
}

TEST_CASE("config: every [global] key") {
  Config config = load_clean(R"(
pid = /run/cppfpm.pid
[global]
error_log = /var/log/cppfpm.log
log_level = debug
daemonize = no
emergency_restart_threshold = 10
emergency_restart_interval = 1m
process_control_timeout = 10s
systemd_interval = 0
[www]
)");
  const GlobalConfig& g = config.global;
  CHECK(g.pid == "/run/cppfpm.pid");  // keys before any section belong to [global]
  CHECK(g.error_log == "/var/log/cppfpm.log");
  CHECK(g.log_level == "debug");
  CHECK_FALSE(g.daemonize);
  CHECK(g.emergency_restart_threshold == 10);
  CHECK(g.emergency_restart_interval == 60s);
  CHECK(g.process_control_timeout == 10s);
  CHECK(g.systemd_interval == 0s);
}

TEST_CASE("config: every pool key") {
  Config config = load_clean(R"([web]
listen = [::1]:9001
listen.backlog = -1
listen.allowed_clients = 127.0.0.1, ::1
listen.owner = nginx
listen.group = www-data
listen.mode = 0600
user = nobody
group = nogroup
pm = static
pm.max_children = 12
pm.start_servers = 4
pm.min_spare_servers = 2
pm.max_spare_servers = 6
pm.max_spawn_rate = 8
pm.process_idle_timeout = 30s
pm.max_requests = 500
pm.status_path = /status
ping.path = /ping
ping.response = "still here"
request_terminate_timeout = 5m
request_slowlog_timeout = 2
slowlog = /var/log/$pool.slow
access.log = /var/log/$pool.access
access.format = "%R %m %r %s"
catch_workers_output = yes
rlimit_files = 4096
env[PATH] = /usr/bin:/bin
env[POOL] = $pool
clear_env = off
pm.threads_per_child = 16
sql.dsn = "mysql://host=db port=3307 user=u password='p;w'"
sql.pool_size = 4
sql.connect_timeout = 500ms
cache.servers = tcp://cache:11211
cache.ttl = 2m
)");
  REQUIRE(config.pools.size() == 1);
  const PoolConfig& p = config.pools[0];
  CHECK(p.name == "web");
  CHECK(p.listen == "[::1]:9001");
  CHECK(p.listen_backlog == -1);
  CHECK(p.listen_allowed_clients == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(p.listen_owner == "nginx");
  CHECK(p.listen_group == "www-data");
  CHECK(p.listen_mode == "0600");
  CHECK(p.user == "nobody");
  CHECK(p.group == "nogroup");
  CHECK(p.pm == PmMode::static_);
  CHECK(p.pm_max_children == 12);
  CHECK(p.pm_start_servers == 4);
  CHECK(p.pm_min_spare_servers == 2);
  CHECK(p.pm_max_spare_servers == 6);
  CHECK(p.pm_max_spawn_rate == 8);
  CHECK(p.pm_process_idle_timeout == 30s);
  CHECK(p.pm_max_requests == 500);
  CHECK(p.pm_status_path == "/status");
  CHECK(p.ping_path == "/ping");
  CHECK(p.ping_response == "still here");
  CHECK(p.request_terminate_timeout == 300s);
  CHECK(p.request_slowlog_timeout == 2s);
  CHECK(p.slowlog == "/var/log/web.slow");
  CHECK(p.access_log == "/var/log/web.access");
  CHECK(p.access_format == "%R %m %r %s");
  CHECK(p.catch_workers_output);
  CHECK(p.rlimit_files == 4096);
  CHECK(p.env == std::vector<std::pair<std::string, std::string>>{{"PATH", "/usr/bin:/bin"},
                                                                  {"POOL", "web"}});
  CHECK_FALSE(p.clear_env);
  CHECK(p.threads_per_child == 16);
  CHECK(p.sql_dsn == "mysql://host=db port=3307 user=u password='p;w'");
  CHECK(p.sql_pool_size == 4);
  CHECK(p.effective_sql_pool_size() == 4);
  CHECK(p.sql_connect_timeout == 500ms);
  CHECK(p.cache_servers == "tcp://cache:11211");
  CHECK(p.effective_cache_servers() == "tcp://cache:11211");
  CHECK(p.cache_ttl == 120s);
}

TEST_CASE("config: session settings in every spelling") {
  Config config = load_clean(R"([www]
session.save_handler = memcache
session.save_path = "tcp://m1:11211, tcp://m2:11211"
session.name = SID
php_value[session.gc_maxlifetime] = 3600
php_admin_value[session.sid_length] = 32
php_value[session.sid_bits_per_character] = 6
php_flag[session.use_strict_mode] = on
php_value[session.cookie_lifetime] = 1d
session.cookie_path = /app
session.cookie_domain = example.org
php_admin_flag[session.cookie_secure] = true
session.cookie_httponly = 1
session.cookie_samesite = Lax
session.lazy_write = no
session.cache_limiter = private
)");
  const PoolConfig& p = config.pools.at(0);
  CHECK(p.session_save_handler == "memcached");
  CHECK(p.session_save_path == "tcp://m1:11211, tcp://m2:11211");
  CHECK(p.effective_cache_servers() == "tcp://m1:11211, tcp://m2:11211");
  const cppfpm::session::Settings& s = p.session;
  CHECK(s.name == "SID");
  CHECK(s.gc_maxlifetime == 3600s);
  CHECK(s.sid_length == 32);
  CHECK(s.sid_bits_per_character == 6);
  CHECK(s.use_strict_mode);
  CHECK(s.cookie_lifetime == 86400);
  CHECK(s.cookie_path == "/app");
  CHECK(s.cookie_domain == "example.org");
  CHECK(s.cookie_secure);
  CHECK(s.cookie_httponly);
  CHECK(s.cookie_samesite == "Lax");
  CHECK_FALSE(s.lazy_write);
  CHECK(s.cache_limiter == "private");
}

TEST_CASE("config: session.save_handler accepts memcached and memory") {
  CHECK(load_clean("[a]\nsession.save_handler = memcached\n").pools[0].session_save_handler ==
        "memcached");
  Config memory = load_clean(
      "[a]\npm = static\npm.max_children = 1\n"
      "php_admin_value[session.save_handler] = memory\n");
  CHECK(memory.pools[0].session_save_handler == "memory");
}

TEST_CASE("config: comments, blanks, quotes and indentation") {
  Config config = load_clean(
      "\xEF\xBB\xBF; a comment\n"
      "# another comment\n"
      "   \t\n"
      "[www]   ; the pool\n"
      "  listen = 9001 ; trailing comment\n"
      "\tping.path=/ping\r\n"
      "ping.response = \"a ; b # c\"\n"
      "access.format = '%R \"%m\"'\n"
      "pm.process_idle_timeout = 10s;\n"
      "user=\n");
  const PoolConfig& p = config.pools.at(0);
  CHECK(p.listen == "9001");
  CHECK(p.ping_path == "/ping");
  CHECK(p.ping_response == "a ; b # c");
  CHECK(p.access_format == "%R \"%m\"");
  CHECK(p.pm_process_idle_timeout == 10s);
  CHECK(p.user.empty());
}

TEST_CASE("config: sections, repeated sections and pool order") {
  Config config = load_clean(R"([b]
listen = 9001
[global]
log_level = error
[a]
listen = 9002
[b]
pm.max_children = 9
)");
  REQUIRE(config.pools.size() == 2);
  CHECK(config.pools[0].name == "b");
  CHECK(config.pools[0].listen == "9001");
  CHECK(config.pools[0].pm_max_children == 9);  // a second [b] goes on configuring b
  CHECK(config.pools[1].name == "a");
  CHECK(config.global.log_level == "error");
}

TEST_CASE("config: later settings override earlier ones, env[] included") {
  Config config = load_clean(
      "[www]\npm.max_children = 7\npm.max_children = 8\n"
      "env[A] = 1\nenv[B] = 2\nenv[A] = 3\n");
  const PoolConfig& p = config.pools.at(0);
  CHECK(p.pm_max_children == 8);
  CHECK(p.env == std::vector<std::pair<std::string, std::string>>{{"A", "3"}, {"B", "2"}});
}

TEST_CASE("config: $pool is substituted in pool values only") {
  Config config = load_clean(R"([global]
pid = /run/$pool.pid
[shop]
listen = /run/php/$pool.sock
access.log = /var/log/$pool/$pool.log
)");
  CHECK(config.global.pid == "/run/$pool.pid");
  CHECK(config.pools.at(0).listen == "/run/php/shop.sock");
  CHECK(config.pools.at(0).access_log == "/var/log/shop/shop.log");
}

TEST_CASE("config: ${ENV} is substituted from the environment") {
  ScopedEnv port("CPPFPM_TEST_PORT", "9123");
  ScopedEnv host("CPPFPM_TEST_HOST", "10.0.0.7");
  ScopedEnv unset("CPPFPM_TEST_UNSET", std::nullopt);
  Config config = load_clean(R"([www]
listen = ${CPPFPM_TEST_HOST}:${CPPFPM_TEST_PORT}
sql.dsn = "mysql://host=${CPPFPM_TEST_HOST} port=3306"
cache.servers = '${CPPFPM_TEST_HOST}'
user = ${CPPFPM_TEST_UNSET:-www-data}
)");
  const PoolConfig& p = config.pools.at(0);
  CHECK(p.listen == "10.0.0.7:9123");
  CHECK(p.sql_dsn == "mysql://host=10.0.0.7 port=3306");
  CHECK(p.cache_servers == "${CPPFPM_TEST_HOST}");  // single quotes are raw
  CHECK(p.user == "www-data");
}

TEST_CASE("config: env[NAME] = $NAME takes the master's variable") {
  ScopedEnv set("CPPFPM_TEST_HOSTNAME", "box1");
  Config config = load_clean("[www]\nenv[HOSTNAME] = $CPPFPM_TEST_HOSTNAME\nenv[LIT] = a$b\n");
  CHECK(config.pools.at(0).env ==
        std::vector<std::pair<std::string, std::string>>{{"HOSTNAME", "box1"}, {"LIT", "a$b"}});
}

TEST_CASE("config: dynamic pm.start_servers defaults to php-fpm's midpoint") {
  Config config = load_clean(
      "[www]\npm.max_children = 20\npm.min_spare_servers = 4\npm.max_spare_servers = 10\n");
  CHECK(config.pools.at(0).pm_start_servers == 7);
  Config zero = load_clean(
      "[www]\npm.max_children = 20\npm.min_spare_servers = 2\n"
      "pm.max_spare_servers = 4\npm.start_servers = 0\n");
  CHECK(zero.pools.at(0).pm_start_servers == 3);
}

TEST_CASE("config: static and ondemand pools skip the spare-server checks") {
  Config config = load_clean(R"([s]
listen = 9001
pm = static
pm.max_children = 2
pm.max_spare_servers = 50
[o]
listen = 9002
pm = ondemand
pm.max_children = 3
pm.min_spare_servers = 0
)");
  CHECK(config.pools.at(0).pm == PmMode::static_);
  CHECK(config.pools.at(1).pm == PmMode::ondemand);
}

TEST_CASE("config: listen forms") {
  for (const char* listen : {"9000", "127.0.0.1:9000", "*:9000", "[::]:9000", "localhost:9000",
                             "/run/php/php8.2-fpm.sock", "relative.sock"}) {
    INFO(listen);
    CHECK(load_clean(std::string("[www]\nlisten = ") + listen + "\n").pools.at(0).listen == listen);
  }
}
