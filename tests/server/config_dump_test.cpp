// `cppfpm -tt`'s dump, in php-fpm's -tt layout (fpm_conf_dump).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "pool/config.h"
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
