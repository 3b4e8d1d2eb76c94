// Every session.* setting: read from the pool file in each of PHP's
// spellings, checked, and honoured by Session.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "pool/config.h"
#include "server/memcached/expiry.h"
#include "session/lock_token.h"
#include "session/memcached_store.h"
#include "session/memory_store.h"
#include "session/session.h"

using namespace cppfpm;
using session::MemoryStore;
using session::Session;
using session::Settings;
using session::StoreResult;
using namespace std::chrono_literals;

namespace {

session::Settings load_session(const std::string& pool_lines) {
  pool::LoadResult result = pool::load_config_string("[www]\n" + pool_lines, "pool.conf");
  std::string errors;
  for (const auto& e : result.errors) errors += e.str() + "\n";
  INFO(errors);
  REQUIRE(result.ok());
  REQUIRE(result.config);
  REQUIRE(result.config->pools.size() == 1);
  return result.config->pools[0].session;
}

std::string load_error(const std::string& pool_lines) {
  pool::LoadResult result = pool::load_config_string("[www]\n" + pool_lines, "pool.conf");
  std::string errors;
  for (const auto& e : result.errors) errors += e.str() + "\n";
  return errors;
}

}  // namespace

TEST_CASE("session settings: defaults are PHP's and pecl-memcache's", "[session][config]") {
  const Settings s = load_session("");
  CHECK(s.name == "PHPSESSID");
  CHECK(s.gc_maxlifetime == 1440s);
  CHECK(s.sid_length == 26);
  CHECK(s.sid_bits_per_character == 5);
  CHECK_FALSE(s.use_strict_mode);
  CHECK(s.use_cookies);
  CHECK(s.use_only_cookies);
  CHECK(s.cookie_lifetime == 0);
  CHECK(s.cookie_path == "/");
  CHECK(s.lazy_write);
  CHECK(s.cache_limiter == "nocache");
  CHECK(s.cache_expire == 180min);
  CHECK(s.serialize_handler == "php");
  CHECK(s.key_prefix.empty());
  CHECK(s.lock);
  CHECK(s.lock_key_style == "memcache");
  CHECK(s.lock_expire == 15s);
  CHECK(s.lock_wait == 30s);
  CHECK(s.lock_retries == 0);
  CHECK(s.lock_waiters == 0);  // half of pm.threads_per_child, resolved by the child
  CHECK(s.memcached_timeout == 1000ms);
  CHECK(s.replicas == 0);
  CHECK(s.compress_threshold == 20000);  // pecl-memcache's memcache.compress_threshold
}

TEST_CASE("session settings: every key in every spelling", "[session][config]") {
  for (const std::string form :
       {"session.%", "php_value[session.%]", "php_admin_value[session.%]"}) {
    auto key = [&](const std::string& name) {
      std::string line = form;
      line.replace(line.find('%'), 1, name);
      return line;
    };
    INFO(form);
    const Settings s = load_session(
        key("name") + " = SID\n" + key("gc_maxlifetime") + " = 3456000\n" + key("sid_length") +
        " = 48\n" + key("sid_bits_per_character") + " = 6\n" + key("use_strict_mode") + " = 1\n" +
        key("use_cookies") + " = 0\n" + key("use_only_cookies") + " = 0\n" +
        key("cookie_lifetime") + " = 3600\n" + key("cookie_path") + " = /app\n" +
        key("cookie_domain") + " = example.com\n" + key("cookie_secure") + " = 1\n" +
        key("cookie_httponly") + " = 1\n" + key("cookie_samesite") + " = Lax\n" +
        key("lazy_write") + " = 0\n" + key("cache_limiter") + " = private\n" + key("cache_expire") +
        " = 30\n" + key("serialize_handler") + " = php_serialize\n" + key("key_prefix") +
        " = memc.sess.key.\n" + key("lock") + " = 0\n" + key("lock_key_style") + " = memcached\n" +
        key("lock_expire") + " = 20\n" + key("lock_wait") + " = 2500ms\n" + key("lock_retries") +
        " = 7\n" + key("lock_waiters") + " = 3\n" + key("memcached_timeout") + " = 250ms\n" +
        key("replicas") + " = 2\n" + key("compress_threshold") + " = 0\n");
    CHECK(s.name == "SID");
    CHECK(s.gc_maxlifetime == 3456000s);  // 40 days
    CHECK(s.sid_length == 48);
    CHECK(s.sid_bits_per_character == 6);
    CHECK(s.use_strict_mode);
    CHECK_FALSE(s.use_cookies);
    CHECK_FALSE(s.use_only_cookies);
    CHECK(s.cookie_lifetime == 3600);
    CHECK(s.cookie_path == "/app");
    CHECK(s.cookie_domain == "example.com");
    CHECK(s.cookie_secure);
    CHECK(s.cookie_httponly);
    CHECK(s.cookie_samesite == "Lax");
    CHECK_FALSE(s.lazy_write);
    CHECK(s.cache_limiter == "private");
    CHECK(s.cache_expire == 30min);
    CHECK(s.serialize_handler == "php_serialize");
    CHECK(s.key_prefix == "memc.sess.key.");
    CHECK_FALSE(s.lock);
    CHECK(s.lock_key_style == "memcached");
    CHECK(s.lock_expire == 20s);
    CHECK(s.lock_wait == 2500ms);
    CHECK(s.lock_retries == 7);
    CHECK(s.lock_waiters == 3);
    CHECK(s.memcached_timeout == 250ms);
    CHECK(s.replicas == 2);
    CHECK(s.compress_threshold == 0);
  }
}

TEST_CASE("session settings: a php-memcached pool file gets php-memcached's keys and locks",
          "[session][config]") {
  // Written as a PHP ini setting, "memcached" is the php-memcached extension.
  for (const std::string form : {"php_value", "php_admin_value"}) {
    INFO(form);
    const Settings s = load_session(form + "[session.save_handler] = memcached\n");
    CHECK(s.key_prefix == "memc.sess.key.");
    CHECK(s.lock_key_style == "memcached");
  }
  // cppfpm's own key, and pecl-memcache's name, keep pecl-memcache's layout (the seed's).
  for (const std::string line :
       {"session.save_handler = memcached\n", "php_value[session.save_handler] = memcache\n"}) {
    INFO(line);
    const Settings s = load_session(line);
    CHECK(s.key_prefix.empty());
    CHECK(s.lock_key_style == "memcache");
  }
  // What the file says explicitly wins, in either spelling.
  const Settings own =
      load_session("php_value[session.save_handler] = memcached\nsession.key_prefix = app.\n");
  CHECK(own.key_prefix == "app.");
  CHECK(own.lock_key_style == "memcached");
  const Settings ext = load_session(
      "php_value[session.save_handler] = memcached\nphp_value[memcached.sess_prefix] = shop.\n"
      "php_flag[memcached.sess_locking] = off\n");
  CHECK(ext.key_prefix == "shop.");
  CHECK_FALSE(ext.lock);
}

TEST_CASE("session settings: bad values are errors naming the line", "[session][config]") {
  CHECK_THAT(load_error("session.serialize_handler = php_binary\n"),
             Catch::Contains("pool.conf:2") && Catch::Contains("use php or php_serialize"));
  CHECK_THAT(load_error("session.key_prefix = \"a b\"\n"), Catch::Contains("blanks"));
  CHECK_THAT(load_error("session.key_prefix = " + std::string(129, 'k') + "\n"),
             Catch::Contains("128 bytes"));
  CHECK_THAT(load_error("session.memcached_timeout = 0\n"), Catch::Contains("more than 0"));
  CHECK_THAT(load_error("session.lock_expire = 0\n"), Catch::Contains("more than 0"));
  CHECK_THAT(load_error("session.replicas = 17\n"), Catch::Contains("at most 16"));
  CHECK_THAT(load_error("session.lock_retries = -1\n"), Catch::Contains("negative"));
  CHECK_THAT(load_error("session.lock_waiters = -2\n"), Catch::Contains("at least -1"));
  CHECK_THAT(load_error("session.compress_threshold = -5\n"), Catch::Contains("pool.conf:2"));
  CHECK_THAT(load_error("php_flag[session.lock] = perhaps\n"), Catch::Contains("boolean"));
  CHECK_THAT(load_error("session.cache_expire = soon\n"), Catch::Contains("pool.conf:2"));
  CHECK_THAT(load_error("session.lock_key_style = redis\n"),
             Catch::Contains("is not a lock key style"));
}

TEST_CASE("session settings: lifetimes over 30 days are absolute times for memcached",
          "[session][config]") {
  const std::int64_t now = 1'700'000'000;
  CHECK(memcached::memcached_exptime(1440s, now) == 1440);
  CHECK(memcached::memcached_exptime(std::chrono::seconds(30 * 86400), now) == 30 * 86400);
  CHECK(memcached::memcached_exptime(std::chrono::seconds(30 * 86400 + 1), now) ==
        now + 30 * 86400 + 1);
  CHECK(memcached::memcached_exptime(std::chrono::seconds(365 * 86400), now) == now + 365 * 86400);
}

TEST_CASE("session settings: key_prefix names the stored key and the lock", "[session]") {
  MemoryStore store;
  Settings settings;
  settings.key_prefix = "memc.sess.key.";
  Session s(store, settings);
  // An id from the client is locked (a fresh one needs no lock: nobody else has it).
  REQUIRE(s.start("PHPSESSID=0123456789abcdefghijklmnop") == StoreResult::ok);
  CHECK(s.store_key() == "memc.sess.key." + s.id());
  std::string lock;
  REQUIRE(store.read(s.store_key() + ".lock", lock) == StoreResult::ok);
  CHECK(lock.size() == 19);  // the owner's token (session/lock_token.h)
  s.vars().set("a", session::PhpValue(1));
  REQUIRE(s.commit() == StoreResult::ok);
  std::string stored;
  REQUIRE(store.read("memc.sess.key." + s.id(), stored) == StoreResult::ok);
  CHECK(stored == "a|i:1;");
  CHECK(store.read(s.id(), stored) == StoreResult::not_found);
  CHECK(store.read(s.store_key() + ".lock", lock) == StoreResult::not_found);
}

TEST_CASE("session settings: serialize_handler php_serialize reads and writes serialize()",
          "[session]") {
  MemoryStore store;
  Settings settings;
  settings.serialize_handler = "php_serialize";
  const std::string id = "0123456789abcdefghijklmnop";
  // What PHP 8.2 stores for $_SESSION = ['n' => 5, 7 => 'x'] under php_serialize.
  REQUIRE(store.write(id, "a:2:{s:1:\"n\";i:5;i:7;s:1:\"x\";}", 60s) == StoreResult::ok);
  Session s(store, settings);
  REQUIRE(s.start("PHPSESSID=" + id) == StoreResult::ok);
  REQUIRE(s.vars().find("n"));
  CHECK(*s.vars().find("n")->as_int() == 5);
  s.vars().set("n", session::PhpValue(6));
  REQUIRE(s.commit() == StoreResult::ok);
  std::string stored;
  REQUIRE(store.read(id, stored) == StoreResult::ok);
  CHECK(stored == "a:2:{s:1:\"n\";i:6;i:7;s:1:\"x\";}");
}

TEST_CASE("session settings: use_cookies = 0 neither reads nor sends a cookie", "[session]") {
  MemoryStore store;
  Settings settings;
  settings.use_cookies = false;
  const std::string id = "0123456789abcdefghijklmnop";
  REQUIRE(store.write(id, "a|i:1;", 60s) == StoreResult::ok);
  Session s(store, settings);
  REQUIRE(s.start("PHPSESSID=" + id) == StoreResult::ok);
  CHECK(s.id() != id);
  for (const auto& [name, value] : s.headers(0)) CHECK(name != "Set-Cookie");
}

TEST_CASE("session settings: use_only_cookies = 0 takes the id from the query string",
          "[session]") {
  MemoryStore store;
  const std::string id = "0123456789abcdefghijklmnop";
  REQUIRE(store.write(id, "a|i:1;", 60s) == StoreResult::ok);
  Settings settings;
  {
    Session s(store, settings);  // use_only_cookies = 1: the query is ignored
    REQUIRE(s.start("", "x=1&PHPSESSID=" + id) == StoreResult::ok);
    CHECK(s.id() != id);
  }
  settings.use_only_cookies = false;
  {
    Session s(store, settings);
    REQUIRE(s.start("", "x=1&PHPSESSID=" + id) == StoreResult::ok);
    CHECK(s.id() == id);
    CHECK(s.vars().contains("a"));
  }
  {
    Session s(store, settings);  // the cookie wins over the query
    REQUIRE(s.start("PHPSESSID=zzzzzzzzzzzzzzzzzzzzzzzzzz", "PHPSESSID=" + id) == StoreResult::ok);
    CHECK(s.id() != id);
  }
  {
    Session s(store, settings);  // a hostile query id is refused like a hostile cookie
    REQUIRE(s.start("", "PHPSESSID=abc%0d%0aset%20x") == StoreResult::ok);
    CHECK(s.cookie_needed());
    CHECK(s.id().find('\r') == std::string::npos);
  }
}

TEST_CASE("session settings: a 40-day gc_maxlifetime reaches the store unchanged", "[session]") {
  MemoryStore store;
  Settings settings;
  settings.gc_maxlifetime = std::chrono::seconds(40 * 86400);
  Session s(store, settings);
  REQUIRE(s.start("") == StoreResult::ok);
  s.vars().set("a", session::PhpValue(1));
  REQUIRE(s.commit() == StoreResult::ok);
  std::string stored;
  CHECK(store.read(s.id(), stored) == StoreResult::ok);
}

TEST_CASE("session settings: lock_key_style memcached locks as php-memcached does", "[session]") {
  MemoryStore store;
  Settings settings;
  settings.key_prefix = "memc.sess.key.";
  settings.lock_key_style = "memcached";
  Session s(store, settings);
  REQUIRE(s.start("PHPSESSID=0123456789abcdefghijklmnop") == StoreResult::ok);
  CHECK(s.lock_key() == "memc.sess.key.lock." + s.id());
  std::string lock;
  REQUIRE(store.read("memc.sess.key.lock." + s.id(), lock) == StoreResult::ok);
  CHECK(lock.size() == 19);  // the owner's token (session/lock_token.h)
  // php-memcached adds "1" under the same key: it finds the lock taken.
  CHECK(store.try_lock("memc.sess.key.lock." + s.id(), 15s, cppfpm::session::new_lock_token()) ==
        StoreResult::busy);
  REQUIRE(s.commit() == StoreResult::ok);
  CHECK(store.read("memc.sess.key.lock." + s.id(), lock) == StoreResult::not_found);
}

TEST_CASE("session settings: a freshly generated id is not locked, a client's id is", "[session]") {
  MemoryStore store;
  Settings settings;
  Session fresh(store, settings);
  REQUIRE(fresh.start("") == StoreResult::ok);
  std::string lock;
  CHECK(store.read(fresh.id() + ".lock", lock) == StoreResult::not_found);
  REQUIRE(fresh.commit() == StoreResult::ok);
  Session again(store, settings);
  REQUIRE(again.start("PHPSESSID=" + fresh.id()) == StoreResult::ok);
  CHECK(store.read(fresh.id() + ".lock", lock) == StoreResult::ok);
  REQUIRE(again.commit() == StoreResult::ok);
  CHECK(store.read(fresh.id() + ".lock", lock) == StoreResult::not_found);
}
