// A child out of file descriptors (rlimit_files reached by connections that
// never send a byte) backs off instead of spinning on accept4(), logs the
// episode once, and serves again once descriptors are free (issue 12, item
// 1: 29 million log lines in 28 s before).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "support/pm_server.h"
#include "support/process.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {}  // namespace

TEST_CASE("EMFILE: the child backs off instead of spinning, logs once, and serves again",
          "[pm][fds]") {
  auto pool = one_child_pool(loopback_endpoint(), 8);
  set_key(pool, "rlimit_files", "64");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 5s));
  pid_t child = fpm.children().front();
  REQUIRE(fpm.get("/ping").body == "pong");

  // More idle connections than the child has descriptors; the ones it
  // cannot accept stay in the backlog and keep the socket readable.
  std::vector<Fd> idle;
  for (int i = 0; i < 120; ++i) idle.push_back(pm_connect(fpm.endpoint));
  INFO("log:\n" << fpm.log().substr(0, 4000));
  REQUIRE(wait_until([&] { return fpm.log_count("accept4() failed") >= 1; }, 10s));

  double cpu_before = cpu_seconds(child);
  REQUIRE(cpu_before >= 0);
  std::this_thread::sleep_for(2s);
  double cpu_used = cpu_seconds(child) - cpu_before;
  CHECK(cpu_used < 0.3);  // spinning on accept4() takes the whole 2 s
  CHECK(fpm.log_count("accept4() failed") <= 2);
  CHECK(fpm.log_count("Too many open files") <= 2);

  idle.clear();
  CHECK(wait_until([&] { return fpm.get("/ping", {}, 2s).body == "pong"; }, 5s, 100ms));
  CHECK(fpm.get("/setSession.php").status == 200);
  // At least once: while the idle connections were held, the first-byte
  // timeout may have freed descriptors and let the child accept between two
  // back-offs (each back-off logged as above, at most twice).
  CHECK(wait_until([&] { return fpm.log_count("accepting connections again") >= 1; }, 5s));
  CHECK(fpm.children() == std::vector<pid_t>{child});
}
