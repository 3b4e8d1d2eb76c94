// memcached gone under the query cache: one log line for the outage and one
// for the recovery per pool, however many children saw it (the lines share
// memcached::OutageLog with the session store).
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "integration/query_cache_helpers.h"
#include "support/parallel.h"
#include "support/stack.h"

using namespace cppfpm::test;
using namespace cppfpm::test::query_cache;
using namespace std::chrono_literals;

namespace {

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("queryCache: a memcached outage is logged once per pool, not once per child",
          "[query_cache][outage][memcached]") {
  Stack stack({[](ConfigKeys& pool) {
    set_key(pool, "pm.max_children", "4");
    set_key(pool, "pm.threads_per_child", "2");
  }});
  load_demo_sql(stack.mariadb, stack.dir / "sql.log");
  run_together(16, [&](int) { get_item(stack.fpm_port(), "id=1"); });

  stack.memcached.kill();
  for (int round = 0; round < 3; ++round) {
    run_together(16, [&](int) {
      auto r = get_item(stack.fpm_port(), "id=1");
      CHECK(r.status == 200);
      CHECK(x_cache(r) == "BYPASS");
    });
  }
  std::string log = stack.fpm_log();
  INFO(log);
  CHECK(count_of(log, "query cache: memcached unreachable") == 1);

  stack.memcached.restart();
  std::string status;
  for (int i = 0; i < 75 && status != "HIT"; ++i) {
    status = x_cache(get_item(stack.fpm_port(), "id=1"));
    if (status != "HIT") std::this_thread::sleep_for(200ms);
  }
  CHECK(status == "HIT");
  run_together(16, [&](int) { get_item(stack.fpm_port(), "id=1"); });
  log = stack.fpm_log();
  INFO(log);
  CHECK(count_of(log, "query cache: memcached unreachable") == 1);
  CHECK(count_of(log, "query cache: memcached reachable again") == 1);
}
