#include <catch2/catch.hpp>

#include "config_test_support.h"
#include "pool/config.h"

using namespace cppfpm::pool;
using namespace cppfpm::pool::test;

namespace {

const std::string kFile = "pool.conf";

LoadResult load(const std::string& text) {
  return load_config_string(text, kFile);
}

// Requires `text` to fail with an error at kFile:`line` mentioning `text_in_message`.
void require_error(const std::string& text, int line, const std::string& text_in_message) {
  LoadResult result = load(text);
  INFO("config:\n" << text << "\n" << dump(result));
  CHECK_FALSE(result.ok());
  CHECK_FALSE(result.config.has_value());
  CHECK(has(result.errors, kFile, line, text_in_message));
}

// Requires `text` to load, with a warning at kFile:`line` mentioning `text_in_message`.
void require_warning(const std::string& text, int line, const std::string& text_in_message) {
  LoadResult result = load(text);
  INFO("config:\n" << text << "\n" << dump(result));
  CHECK(result.ok());
  CHECK(has(result.warnings, kFile, line, text_in_message));
}

}  // namespace

TEST_CASE("config: Diagnostic::str is FILE:LINE: message") {
  CHECK(Diagnostic{"/etc/cppfpm/cppfpm.conf", 12, "unknown key 'x'"}.str() ==
        "/etc/cppfpm/cppfpm.conf:12: unknown key 'x'");
}

TEST_CASE("config: malformed lines are errors at their line") {
  require_error("[www]\nlisten 9000\n", 2, "expected 'name = value'");
  require_error("; ok\n[www\nlisten = 9000\n", 2, "unterminated section header [www");
  require_error("[www] extra\n", 1, "unexpected text 'extra'");
  require_error("[www]\n[ ]\n", 2, "empty section name");
  require_error("[www]\n = 5\n", 2, "missing setting name");
  require_error("[www]\npm max = 5\n", 2, "malformed setting name 'pm max'");
  require_error("[www]\nlisten: 9000 = x\n", 2, "malformed setting name 'listen:");
  require_error("[www]\nping.response = \"pong\n", 2, "unterminated quoted string");
  require_error("[www]\nping.response = 'pong\n", 2, "unterminated quoted string");
  require_error(std::string("[www]\nuser = a\0b\n", 17), 2, "NUL byte");
}

TEST_CASE("config: bad ${...} references are errors at their line") {
  ScopedEnv unset("CPPFPM_TEST_NOT_SET", std::nullopt);
  require_error("[www]\n\nlisten = ${CPPFPM_TEST_NOT_SET}\n", 3,
                "CPPFPM_TEST_NOT_SET, which is not set");
  require_error("[www]\nlisten = ${PORT\n", 2, "without its closing '}'");
  require_error("[www]\nlisten = ${}\n", 2, "bad variable reference");
  require_error("pid = \"/run/${CPPFPM_TEST_NOT_SET}.pid\"\n[www]\n", 1, "not set");
}

TEST_CASE("config: long settings load as php-fpm's do; only a setting over 64 KiB is an error") {
  // php-fpm takes a 300-character value (the old limit here was 198).
  std::string clients;
  for (int i = 1; clients.size() < 300; ++i)
    clients += (i > 1 ? "," : "") + ("10.0.0." + std::to_string(i));
  LoadResult fine = load("[www]\nlisten.allowed_clients = " + clients + "\n");
  INFO(dump(fine));
  CHECK(fine.ok());
  std::string text =
      "[www]\n; " + std::string(400, 'c') + "\nuser = " + std::string(70000, 'x') + "\n";
  LoadResult result = load(text);
  INFO(dump(result));
  CHECK(has(result.errors, kFile, 3, "the line is too long"));
  CHECK(result.errors.size() == 1);  // the long comment on line 2 is fine
  // A long trailing comment does not count against the limit.
  CHECK(load("[www]\nuser = www-data ; " + std::string(70000, 'c') + "\n").ok());
}

TEST_CASE("config: every malformed line is reported, not only the first") {
  LoadResult result = load("[www]\nlisten 9000\npm = fast\npm.max_children = lots\n");
  INFO(dump(result));
  CHECK(has(result.errors, kFile, 2, "expected 'name = value'"));
  CHECK(has(result.errors, kFile, 3, "pm = \"fast\" is not a process manager"));
  CHECK(has(result.errors, kFile, 4, "pm.max_children = \"lots\" is not a whole number"));
}

TEST_CASE("config: bad values are errors at their line") {
  require_error("[www]\npm.max_children = lots\n", 2, "is not a whole number");
  require_error("[www]\npm.max_children = 0\n", 2, "must be at least 1");
  require_error("[www]\npm = fast\n", 2, "use static, dynamic or ondemand");
  require_error("[www]\npm.max_requests = -1\n", 2,
                "pm.max_requests = \"-1\" must not be negative");
  require_error("[www]\nrlimit_files = -5\n", 2, "must not be negative");
  require_error("[www]\nsql.pool_size = -2\n", 2, "must not be negative");
  require_error("[www]\nlisten.backlog = -2\n", 2, "must be at least -1");
  require_error("[www]\nrequest_terminate_timeout = 5x\n", 2, "is not a duration");
  require_error("[www]\nrequest_slowlog_timeout = -1s\n", 2, "is not a duration");
  require_error("[www]\ncache.ttl = 1500ms\n", 2, "is not a whole number of seconds");
  require_error("[www]\npm.threads_per_child = 0\n", 2, "must be at least 1");
  require_error("[www]\npm.threads_per_child = 1025\n", 2, "must be at most 1024");
  require_error("[www]\ncatch_workers_output = sometimes\n", 2, "is not a boolean");
  require_error("[www]\nlisten = 127.0.0.1:99999\n", 2, "bad port '99999'");
  require_error("[www]\nlisten = 127.0.0.1:http\n", 2, "bad port 'http'");
  require_error("[www]\nlisten = :9000\n", 2, "has no host");
  require_error("[www]\nlisten = [::1:9000\n", 2, "unclosed '['");
  require_error("[www]\nlisten = \"\"\n", 2, "must not be empty");
  require_error("[www]\nlisten = 0\n", 2, "bad port '0'");
  require_error("[www]\nlisten.mode = 0999\n", 2, "in octal");
  require_error("[www]\npm.status_path = status\n", 2, "starting with '/'");
  require_error("[www]\nping.path = /\n", 2, "starting with '/'");
  require_error("[www]\nping.response = \"\"\n", 2, "must not be empty");
  require_error("[www]\nsql.dsn =\n", 2, "sql.dsn = \"\" must not be empty");
  require_error("daemonize = maybe\n[www]\n", 1, "daemonize = \"maybe\" is not a boolean");
  require_error("[global]\nlog_level = verbose\n[www]\n", 2, "is not a log level");
  require_error("[global]\nemergency_restart_threshold = -1\n[www]\n", 2, "must not be negative");
  require_error("[global]\nprocess_control_timeout = 10y\n[www]\n", 2, "is not a duration");
}

TEST_CASE("config: bad session values are errors at their line") {
  require_error("[www]\nsession.sid_length = 21\n", 2, "must be at least 22");
  require_error("[www]\nphp_value[session.sid_length] = 257\n", 2,
                "php_value[session.sid_length] = \"257\" must be at most 256");
  require_error("[www]\nsession.sid_bits_per_character = 3\n", 2, "must be at least 4");
  require_error("[www]\nsession.sid_bits_per_character = 7\n", 2, "must be at most 6");
  require_error("[www]\nsession.name = 123\n", 2, "must contain a letter");
  require_error("[www]\nsession.name = \"A B\"\n", 2, "must not contain");
  require_error("[www]\nsession.cookie_samesite = Sometimes\n", 2, "is not a SameSite value");
  require_error("[www]\nsession.cache_limiter = bogus\n", 2, "is not a cache limiter");
  require_error("[www]\nsession.save_handler = redis\n", 2, "use memcached or memory");
  require_error("[www]\nsession.save_path =\n", 2, "must not be empty");
  require_error("[www]\nphp_flag[session.use_strict_mode] = sure\n", 2, "is not a boolean");
  require_error("[www]\nsession.gc_maxlifetime = 1x\n", 2, "is not a duration");
}

TEST_CASE("config: malformed array keys are errors at their line") {
  require_error("[www]\nenv[PATH = /bin\n", 2, "malformed key 'env[PATH'");
  require_error("[www]\nenv]x[ = 1\n", 2, "malformed key");
  require_error("[www]\nenv[] = /bin\n", 2, "needs a variable name");
}

TEST_CASE("config: php-fpm's cross-field checks name the line to change") {
  SECTION("max_spare_servers above max_children") {
    require_error("[www]\npm.max_children = 5\npm.max_spare_servers = 8\n", 3,
                  "pm.max_spare_servers (8) cannot be greater than pm.max_children (5)");
  }
  SECTION("an unset spare count points at max_children") {
    require_error("[www]\npm.max_children = 2\n", 2,
                  "pm.max_spare_servers (3) cannot be greater than pm.max_children (2)");
  }
  SECTION("min_spare_servers above max_children") {
    require_error(
        "[www]\npm.max_children = 5\npm.min_spare_servers = 6\n"
        "pm.max_spare_servers = 7\n",
        3, "pm.min_spare_servers (6) cannot be greater than pm.max_children (5)");
  }
  SECTION("max_spare_servers below min_spare_servers") {
    require_error("[www]\npm.min_spare_servers = 3\npm.max_spare_servers = 2\n", 3,
                  "pm.max_spare_servers (2) must not be less than pm.min_spare_servers (3)");
  }
  SECTION("start_servers outside the spare range") {
    require_error("[www]\npm.start_servers = 4\n", 2,
                  "pm.start_servers (4) must not be less than pm.min_spare_servers (1) nor "
                  "greater than pm.max_spare_servers (3)");
  }
  SECTION("dynamic needs spare servers") {
    require_error("[www]\npm = dynamic\npm.min_spare_servers = 0\n", 3,
                  "pm.min_spare_servers (0) must be at least 1 when pm = dynamic");
    require_error("[www]\npm.max_spare_servers = 0\n", 2,
                  "pm.max_spare_servers (0) must be at least 1");
  }
  SECTION("ondemand needs an idle timeout") {
    require_error("[www]\npm = ondemand\npm.process_idle_timeout = 0\n", 3,
                  "pm.process_idle_timeout must be at least 1s");
  }
  SECTION("slow requests need a slowlog") {
    require_error("[www]\nrequest_slowlog_timeout = 5s\n", 2, "set slowlog");
  }
  SECTION("two pools on one address") {
    require_error("[a]\nlisten = 9000\n[b]\n\nlisten = 9000\n", 5,
                  "[pool b] listen = 9000 is already the address of pool a");
  }
  SECTION("a pool without settings is located at its header") {
    require_error("[a]\n[b]\n", 2, "[pool b] listen = 127.0.0.1:9000 is already the address");
  }
}

TEST_CASE("config: a file without a pool is an error") {
  require_error("[global]\npid = /run/x.pid\n\n", 3, "no pool defined");
  require_error("", 0, "no pool defined");
}

TEST_CASE("config: load_config names an unreadable file") {
  LoadResult result = load_config("/nonexistent/cppfpm.conf");
  CHECK_FALSE(result.ok());
  CHECK(has(result.errors, "/nonexistent/cppfpm.conf", 0, "No such file or directory"));
  ScratchDir dir;
  LoadResult directory = load_config(dir / "");
  CHECK(has(directory.errors, dir / "", 0, "is a directory"));
}

TEST_CASE(
    "config: a bad listen.allowed_clients entry is a warning as in php-fpm and matches no one") {
  require_warning("[www]\nlisten.allowed_clients = 127.0.0.1, example.org\n", 2,
                  "[pool www] Wrong IP address 'example.org' in listen.allowed_clients");
  LoadResult some = load("[www]\nlisten.allowed_clients = 127.0.0.1, example.org\n");
  REQUIRE(some.ok());
  CHECK(some.warnings.size() == 1);
  require_warning("[www]\nlisten.allowed_clients = example.org\n", 2,
                  "There are no allowed addresses");
}

TEST_CASE("config: keys meaningless for C++ are accepted with one warning each") {
  const std::string text = R"(process.priority = -19
events.mechanism = epoll
rlimit_files = 1024
rlimit_core = 0
[www]
chdir = /var/www
chroot =
security.limit_extensions = .php .php7
php_value[memory_limit] = 64M
php_flag[display_errors] = off
php_admin_value[error_log] = /var/log/fpm-php.www.log
php_admin_flag[log_errors] = on
listen.setfib = 1
request_terminate_timeout_track_finished = yes
request_slowlog_trace_depth = 20
rlimit_core = unlimited
process.dumpable = yes
apparmor_hat = x
)";
  LoadResult result = load(text);
  INFO(dump(result));
  REQUIRE(result.ok());
  CHECK(result.warnings.size() == 17);
  CHECK(has(result.warnings, kFile, 1, "process.priority is ignored"));
  CHECK(has(result.warnings, kFile, 3, "rlimit_files is ignored: set rlimit_files in each pool"));
  CHECK(has(result.warnings, kFile, 6, "[pool www] chdir is ignored"));
  CHECK(has(result.warnings, kFile, 8, "security.limit_extensions is ignored"));
  CHECK(has(result.warnings, kFile, 9, "php_value[memory_limit] is ignored"));
  CHECK(has(result.warnings, kFile, 13, "listen.setfib is ignored"));
  CHECK(has(result.warnings, kFile, 18, "apparmor_hat is ignored"));
}

TEST_CASE("config: pm.status_listen is read and checked") {
  LoadResult ok = load("[www]\npm.status_path = /status\npm.status_listen = 127.0.0.1:9001\n");
  INFO(dump(ok));
  REQUIRE(ok.ok());
  CHECK(ok.warnings.empty());
  CHECK(ok.config->pools[0].pm_status_listen == "127.0.0.1:9001");
  require_error("[www]\npm.status_listen = 127.0.0.1:9000\n", 2,
                "is the pool's own listen address");
  require_error("[www]\npm.status_listen = :9001\n", 2, "has no host");
  require_warning("[www]\npm.status_listen = 9001\n", 2, "neither is set");
}

TEST_CASE("config: unknown and misplaced keys warn at their line") {
  require_warning("[www]\nfoo.bar = 1\n", 2, "[pool www] unknown key 'foo.bar' is ignored");
  require_warning("bogus = 1\n[www]\n", 1, "unknown key 'bogus' in [global]");
  require_warning("pm.max_children = 9\n[www]\n", 1, "pm.max_children is a pool setting");
  require_warning("[www]\npid = /run/x.pid\n", 2, "pid is a [global] setting");
  require_warning("[www]\nfoo[bar] = 1\n", 2, "unknown key 'foo[bar]'");
  require_warning("[www]\nsession.gc_probability = 1\n", 2, "session.gc_probability is ignored");
  require_warning("[www]\nphp_value[session.gc_divisor] = 100\n", 2,
                  "php_value[session.gc_divisor] is ignored");
}

TEST_CASE("config: session.save_handler = files warns and keeps memcached") {
  LoadResult result = load(
      "[www]\nphp_value[session.save_handler] = files\n"
      "php_value[session.save_path] = /var/lib/php/sessions\n");
  INFO(dump(result));
  REQUIRE(result.ok());
  CHECK(has(result.warnings, kFile, 2, "= files is not supported"));
  CHECK(has(result.warnings, kFile, 3, "session.save_path is ignored"));
  CHECK(result.config->pools.at(0).session_save_handler == "memcached");
  CHECK(result.config->pools.at(0).session_save_path == "tcp://127.0.0.1:11211");
}

TEST_CASE("config: other warnings name their line") {
  require_warning("[www]\nsession.save_handler = memory\n", 2, "keeps sessions inside one child");
  ScopedEnv unset("CPPFPM_TEST_NOT_SET", std::nullopt);
  require_warning("[www]\nenv[X] = $CPPFPM_TEST_NOT_SET\n", 2, "is not set");
  require_warning("[www]\ninclude = no-such-dir/*.conf\n", 2, "matches no file");
}
