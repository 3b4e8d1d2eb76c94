#include <catch2/catch.hpp>

#include "config_test_support.h"
#include "pool/config.h"

using namespace cppfpm::pool;
using namespace cppfpm::pool::test;

namespace {

std::vector<std::string> pool_names(const Config& config) {
  std::vector<std::string> names;
  for (const PoolConfig& pool : config.pools) names.push_back(pool.name);
  return names;
}

}  // namespace

TEST_CASE("config: include with a glob, relative to the including file") {
  ScratchDir dir;
  std::string main = dir.write("etc/cppfpm.conf", "[global]\ninclude = pool.d/*.conf\n");
  dir.write("etc/pool.d/b.conf", "[b]\nlisten = 9002\n");
  dir.write("etc/pool.d/a.conf", "[a]\nlisten = 9001\n");
  dir.write("etc/pool.d/notes.txt", "this is not a config file\n");
  dir.write("etc/pool.d/dir.conf/x.conf", "[x]\nlisten = 9003\n");  // a directory: skipped

  LoadResult result = load_config(main);
  INFO(dump(result));
  REQUIRE(result.ok());
  CHECK(result.warnings.empty());
  CHECK(result.config->path == main);
  CHECK(pool_names(*result.config) == std::vector<std::string>{"a", "b"});
  CHECK(result.config->pools[0].listen == "9001");
}

TEST_CASE("config: absolute includes, ${ENV} in the pattern, nested includes") {
  ScratchDir dir;
  ScopedEnv env("CPPFPM_TEST_CONF_DIR", dir / "conf.d");
  std::string main = dir.write("main.conf", "include = ${CPPFPM_TEST_CONF_DIR}/*.conf\n");
  dir.write("conf.d/one.conf", "include = nested/two.conf\n[one]\nlisten = 9001\n");
  dir.write("conf.d/nested/two.conf", "[two]\nlisten = 9002\n");

  LoadResult result = load_config(main);
  INFO(dump(result));
  REQUIRE(result.ok());
  CHECK(pool_names(*result.config) == std::vector<std::string>{"two", "one"});
}

TEST_CASE("config: an included file continues the includer's section") {
  ScratchDir dir;
  std::string main = dir.write("main.conf", "[www]\ninclude = extra.conf\nuser = after-include\n");
  dir.write("extra.conf", "pm.max_children = 9\n[other]\nlisten = 9009\n");

  LoadResult result = load_config(main);
  INFO(dump(result));
  REQUIRE(result.ok());
  const Config& config = *result.config;
  REQUIRE(pool_names(config) == std::vector<std::string>{"www", "other"});
  CHECK(config.pools[0].pm_max_children == 9);
  CHECK(config.pools[0].user == "after-include");  // back in [www] after the include
  CHECK(config.pools[1].user.empty());
}

TEST_CASE("config: findings inside an included file name that file and line") {
  ScratchDir dir;
  std::string main = dir.write("main.conf", "[www]\ninclude = inc.conf\n");
  std::string inc = dir.write("inc.conf", "; included\npm = fast\nchdir = /srv\n");

  LoadResult result = load_config(main);
  INFO(dump(result));
  CHECK_FALSE(result.ok());
  CHECK(has(result.errors, inc, 2, "pm = \"fast\" is not a process manager"));
  CHECK(has(result.warnings, inc, 3, "chdir is ignored"));
}

TEST_CASE("config: include loops are errors at the include line") {
  ScratchDir dir;
  SECTION("through another file") {
    std::string a = dir.write("a.conf", "[www]\ninclude = b.conf\n");
    std::string b = dir.write("b.conf", "; b\n\ninclude = a.conf\n");
    LoadResult result = load_config(a);
    INFO(dump(result));
    CHECK_FALSE(result.ok());
    CHECK(has(result.errors, b, 3, "include loop"));
    CHECK(result.errors.size() == 1);
  }
  SECTION("a file including itself through a glob") {
    std::string a = dir.write("a.conf", "[www]\ninclude = *.conf\n");
    LoadResult result = load_config(a);
    CHECK(has(result.errors, a, 2, "include loop"));
  }
}

TEST_CASE("config: include depth is bounded") {
  ScratchDir dir;
  for (int i = 0; i < 20; ++i) {
    dir.write("f" + std::to_string(i) + ".conf", "include = f" + std::to_string(i + 1) + ".conf\n");
  }
  dir.write("f20.conf", "[www]\n");
  LoadResult result = load_config(dir / "f0.conf");
  INFO(dump(result));
  CHECK_FALSE(result.ok());
  CHECK(has(result.errors, dir / "f15.conf", 1, "nested more than 16 files deep"));
}

TEST_CASE("config: an include matching nothing warns; with no pool left it is an error") {
  ScratchDir dir;
  std::string main =
      dir.write("main.conf", "[global]\npid = /run/x.pid\ninclude = pool.d/*.conf\n");
  LoadResult result = load_config(main);
  INFO(dump(result));
  CHECK(has(result.warnings, main, 3, "include = pool.d/*.conf matches no file"));
  CHECK(has(result.errors, main, 3, "no pool defined"));
}

TEST_CASE("config: an empty include is an error") {
  LoadResult result = load_config_string("[www]\ninclude =\n", "x.conf");
  CHECK(has(result.errors, "x.conf", 2, "include needs a file name"));
}
