// `cppfpm -tt`'s dump, in php-fpm's -tt layout (fpm_conf_dump).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "pool/config.h"
#include "pool/config_builder.h"
#include "server/config_dump.h"

using namespace cppfpm;

namespace {

bool has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

TEST_CASE("config dump: [global] then each pool, tab-indented, a \" \" line after each") {
  pool::LoadResult loaded = pool::load_config_string(
      "[global]\npid = /run/x.pid\n[www]\nlisten = 127.0.0.1:9000\npm = static\n"
      "pm.max_children = 3\nenv[PATH] = /bin\nrequest_terminate_timeout = 30s\n"
      "sql.dsn = \"mysql://host=h user=u password=secret port=1\"\n",
      "x.conf");
  REQUIRE(loaded.ok());
  auto lines = server::dump_config(*loaded.config);
  REQUIRE(lines.size() > 10);
  CHECK(lines[0] == "[global]");
  CHECK(lines[1] == "\tpid = /run/x.pid");
  CHECK(lines[2] == "\terror_log = undefined");
  auto www = std::find(lines.begin(), lines.end(), "[www]");
  REQUIRE(www != lines.end());
  CHECK(*(www - 1) == " ");
  CHECK(lines.back() == " ");
  CHECK(has(lines, "\tdaemonize = yes"));
  CHECK(has(lines, "\tpm = static"));
  CHECK(has(lines, "\tpm.max_children = 3"));
  CHECK(has(lines, "\tuser = undefined"));
  CHECK(has(lines, "\tenv[PATH] = /bin"));
  CHECK(has(lines, "\trequest_terminate_timeout = 30s"));
  CHECK(has(lines, "\tcatch_workers_output = no"));
  // The dump reaches stderr and the log: the database password does not.
  CHECK(has(lines, "\tsql.dsn = mysql://host=h user=u password=*** port=1"));
}

namespace {

// The keys `lines` shows for the section [name]: "\tkey = value" -> "key".
std::vector<std::string> keys_of_section(const std::vector<std::string>& lines,
                                         const std::string& name) {
  std::vector<std::string> keys;
  auto at = std::find(lines.begin(), lines.end(), "[" + name + "]");
  for (++at; at < lines.end() && *at != " "; ++at)
    if (auto eq = at->find(" = "); eq != std::string::npos && (*at)[0] == '\t')
      keys.push_back(at->substr(1, eq - 1));
  return keys;
}

bool contains(const std::vector<std::string>& keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

// The key lists come from the parser's own tables: a key added to the
// parser and forgotten in the dump fails here.
TEST_CASE("config dump: every key the parser honours is in the -tt dump") {
  pool::LoadResult loaded =
      pool::load_config_string("[global]\n[www]\nlisten = 127.0.0.1:9000\n", "x.conf");
  REQUIRE(loaded.ok());
  auto lines = server::dump_config(*loaded.config);
  auto global = keys_of_section(lines, "global");
  auto www = keys_of_section(lines, "www");
  REQUIRE(pool::global_key_names().size() >= 10);
  for (std::string_view key : pool::global_key_names()) {
    INFO("[global] " << key);
    CHECK(contains(global, key));
  }
  REQUIRE(pool::pool_key_names().size() >= 40);
  for (std::string_view key : pool::pool_key_names()) {
    INFO("[www] " << key);
    CHECK(contains(www, key));
  }
  REQUIRE(pool::session_key_names().size() >= 20);
  for (std::string_view name : pool::session_key_names()) {
    INFO("[www] session." << name);
    CHECK(contains(www, "session." + std::string(name)));
  }
  // The newer keys by name, with their defaults.
  CHECK(has(lines, "\tpm.queue_per_child = 8"));
  CHECK(has(lines, "\tpm.max_memory = 0"));
  CHECK(has(lines, "\tpm.max_pending_heads = 1000"));
  CHECK(has(lines, "\trequest_head_first_byte_timeout = 10000ms"));
  CHECK(has(lines, "\tsql.servers = undefined"));
  CHECK(has(lines, "\tsession.lock_waiters = 0"));
}
