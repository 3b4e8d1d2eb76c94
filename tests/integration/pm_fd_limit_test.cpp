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

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

// utime + stime of `pid` in seconds (/proc/<pid>/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name may hold spaces: fields are counted after its ')'.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)),
                             std::istream_iterator<std::string>());
  REQUIRE(f.size() > 13);
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

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
  std::this_thread::sleep_for(2s);
  double cpu_used = cpu_seconds(child) - cpu_before;
  CHECK(cpu_used < 0.3);  // spinning on accept4() takes the whole 2 s
  CHECK(fpm.log_count("accept4() failed") <= 2);
  CHECK(fpm.log_count("Too many open files") <= 2);

  idle.clear();
  CHECK(wait_until([&] { return fpm.get("/ping", {}, 2s).body == "pong"; }, 5s, 100ms));
  CHECK(fpm.get("/setSession.php").status == 200);
  CHECK(wait_until([&] { return fpm.log_count("accepting connections again") == 1; }, 2s));
  CHECK(fpm.children() == std::vector<pid_t>{child});
}
