// request_terminate_timeout and request_slowlog_timeout + slowlog, with the
// test page that blocks (/__test/sleep?ms=N).
#include <catch2/catch.hpp>

#include <regex>

#include "support/pm_server.h"

using namespace cppfpm::test;

TEST_CASE(
    "request_terminate_timeout ends a long request, spares the other one in the child, frees the "
    "thread",
    "[pm][timeouts]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "pm.threads_per_child", "2");
  set_key(pool, "request_terminate_timeout", "1s");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();

  Stopwatch watch;
  auto stuck = std::async(std::launch::async, [&] {
    auto r = fpm.get("/__test/sleep", "ms=6000", 8s);
    return std::make_pair(r, watch.elapsed());
  });
  REQUIRE(wait_serving(fpm));
  std::this_thread::sleep_for(500ms);            // the first has run half its timeout
  auto other = slow_request(fpm.endpoint, 900);  // in flight while the first is ended
  auto [r, took] = stuck.get();
  INFO("terminated after " << took.count() << " ms: ended=" << r.ended << " status=" << r.status
                           << "\nlog:\n"
                           << fpm.log());
  CHECK((!r.ended || r.status >= 500));
  CHECK(r.body.find("slept") == std::string::npos);
  CHECK(took < 2300ms);  // the timeout plus one second
  auto o = other.get();
  CHECK(o.ended);
  CHECK(o.body == "slept 900\n");
  CHECK(fpm.log_count("execution timed out") == 1);

  // Both worker threads serve again, at once, in the same child.
  Stopwatch again;
  auto c = slow_request(fpm.endpoint, 400);
  auto d = slow_request(fpm.endpoint, 400);
  CHECK(c.get().body == "slept 400\n");
  CHECK(d.get().body == "slept 400\n");
  CHECK(again.elapsed() < 750ms);
  CHECK(fpm.children() == std::vector<pid_t>{child});
}

TEST_CASE("request_slowlog_timeout: one slowlog entry with pool, pid, script and a stack",
          "[pm][timeouts]") {
  TempDir logs("cppfpm-pm-logs-");
  auto slowlog = logs / "slow.log";
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "request_slowlog_timeout", "1s");
  set_key(pool, "slowlog", slowlog.string());
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();

  auto r = fpm.get("/__test/sleep", "ms=2300", 5s);
  CHECK(r.body == "slept 2300\n");
  CHECK(fpm.get("/__test/sleep", "ms=10").body == "slept 10\n");  // a fast one: no entry
  REQUIRE(wait_until([&] { return std::filesystem::exists(slowlog); }, 1s));
  std::string entry = read_file(slowlog);
  INFO("slowlog:\n" << entry << "\nlog:\n" << fpm.log());
  std::string head = "[pool www] pid " + std::to_string(child);
  auto first = entry.find(head);
  CHECK(first != std::string::npos);
  CHECK(entry.find(head, first + 1) == std::string::npos);
  CHECK(entry.find("script_filename = /__test/sleep") != std::string::npos);
  CHECK(std::regex_search(entry, std::regex(R"(\[\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\])")));
  // backtrace_symbols_fd: one "binary(symbol+off) [0xaddr]" line per frame.
  CHECK(std::count(entry.begin(), entry.end(), '\n') >= 6);
  CHECK(entry.find("[0x") != std::string::npos);
  CHECK(fpm.status()["slow requests"] == "1");
  CHECK(fpm.log_count("executing too slow") == 1);
}
