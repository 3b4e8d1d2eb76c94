// pm = static: pm.max_children children, always; a child killed by any
// signal is replaced within a second and the other children's requests are
// untouched; pm.max_requests recycles children.
#include <catch2/catch.hpp>

#include <csignal>
#include <set>
#include <sstream>

#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

std::string pids_text(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t p : pids) out += std::to_string(p) + " ";
  return out;
}

}  // namespace

TEST_CASE("pm static: exactly pm.max_children children, before, during and after load",
          "[pm][static]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "3");
  set_key(pool, "pm.threads_per_child", "1");
  PmServer fpm(pool);
  INFO("log:\n" << fpm.log());
  REQUIRE(fpm.wait_children(3, 3s));
  auto at_boot = fpm.children();

  // Twice as many slow requests as children: the pool must not grow.
  std::vector<std::future<FcgiResponse>> slow;
  for (int i = 0; i < 6; ++i) slow.push_back(slow_request(fpm.endpoint, 700));
  Stopwatch watch;
  std::size_t most = 0;
  while (watch.elapsed() < 1000ms) {
    most = std::max(most, fpm.children().size());
    std::this_thread::sleep_for(20ms);
  }
  for (auto& f : slow) {
    auto r = f.get();
    CHECK(r.ended);
    CHECK(r.body == "slept 700\n");
  }
  CHECK(most == 3);
  CHECK(fpm.children() == at_boot);
  auto status = fpm.status();
  CHECK(status["process manager"] == "static");
  CHECK(status["total processes"] == "3");
  // Exactly 3 only when the six requests spread over the children; see the
  // next test.
  CHECK(std::stoi(status["max active processes"]) >= 1);
  CHECK(std::stoi(status["max active processes"]) <= 3);
}

TEST_CASE(
    "pm static: concurrent requests go to idle children, not behind a busy child's only thread",
    "[pm][static]") {
  // Each child accepts only while it has a free worker thread: with 3
  // children of 1 thread, 3 simultaneous 1 s requests all run at once.
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "3");
  set_key(pool, "pm.threads_per_child", "1");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(3, 3s));
  for (int round = 0; round < 3; ++round) {
    Stopwatch watch;
    std::vector<std::future<FcgiResponse>> slow;
    for (int i = 0; i < 3; ++i) slow.push_back(slow_request(fpm.endpoint, 1000));
    for (auto& f : slow) CHECK(f.get().body == "slept 1000\n");
    INFO("round " << round);
    CHECK(watch.elapsed() < 1600ms);
  }
}

TEST_CASE(
    "pm static: a child killed with SIGKILL is replaced within 1 s, other requests are untouched",
    "[pm][static][crash]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "3");
  set_key(pool, "pm.threads_per_child", "1");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(3, 3s));

  // Two children busy with slow pages; the third is the victim.
  auto a = slow_request(fpm.endpoint, 1500);
  auto b = slow_request(fpm.endpoint, 1500);
  auto serving_slow_page = [](std::map<std::string, std::string>& p) {
    return p["state"] == "Running" && p["request URI"].find("/__test/sleep") != std::string::npos;
  };
  std::vector<std::map<std::string, std::string>> procs;
  REQUIRE(wait_until(
      [&] {
        procs = pm_status_processes(fpm.get("/status", "full").body);
        // Both slow requests started: the third child then holds neither.
        return std::count_if(procs.begin(), procs.end(), serving_slow_page) >= 2;
      },
      1s));
  // Not the idle one by state: as in php-fpm, the child answering the
  // status page counts as Running while it does.
  pid_t victim = 0;
  for (auto& p : procs)
    if (!serving_slow_page(p)) victim = std::stoi(p["pid"]);
  REQUIRE(victim > 0);
  auto before = fpm.children();
  REQUIRE(std::find(before.begin(), before.end(), victim) != before.end());

  ::kill(victim, SIGKILL);
  Stopwatch watch;
  bool replaced = wait_until(
      [&] {
        auto now = fpm.children();
        return now.size() == 3 && std::find(now.begin(), now.end(), victim) == now.end();
      },
      1500ms, 10ms);
  auto took = watch.elapsed();
  INFO("replaced after " << took.count() << " ms; children before " << pids_text(before) << "now "
                         << pids_text(fpm.children()) << "\nlog:\n"
                         << fpm.log());
  CHECK(replaced);
  CHECK(took <= 1000ms);
  CHECK(fpm.log_count("child " + std::to_string(victim) + " exited on signal 9 (SIGKILL)") == 1);

  auto ra = a.get(), rb = b.get();
  CHECK(ra.body == "slept 1500\n");
  CHECK(rb.body == "slept 1500\n");
  auto r = fpm.get("/ping");
  CHECK(r.body == "pong");
}

TEST_CASE("pm static: a child dying of SIGSEGV is replaced too", "[pm][static][crash]") {
  auto pool = pm_pool(loopback_endpoint());
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));
  auto before = fpm.children();
  ::kill(before.front(), SIGSEGV);
  bool replaced = wait_until(
      [&] {
        auto now = fpm.children();
        return now.size() == 2 && std::find(now.begin(), now.end(), before.front()) == now.end();
      },
      1000ms, 10ms);
  INFO("log:\n" << fpm.log());
  CHECK(replaced);
  CHECK(fpm.log_count("exited on signal 11 (SIGSEGV)") == 1);
  for (int i = 0; i < 4; ++i) CHECK(fpm.get("/ping").body == "pong");
}

namespace {

// Sequential GETs on fresh connections to a pool of 2 children of 1 thread
// with pm.max_requests = `max`; how many requests each child served, read
// off the access log's %p.
std::map<pid_t, int> served_per_child(int max, int requests, std::string& report,
                                      std::vector<pid_t>& at_boot, std::vector<pid_t>& at_end,
                                      std::size_t& exits) {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "2");
  set_key(pool, "pm.threads_per_child", "1");
  set_key(pool, "pm.max_requests", std::to_string(max));
  TempDir logs("cppfpm-pm-logs-");
  auto log_path = logs / "access.log";
  set_key(pool, "access.log", log_path.string());
  set_key(pool, "access.format", "\"%p %s %r\"");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));
  at_boot = fpm.children();
  for (int i = 0; i < requests; ++i) {
    auto r = fpm.get("/setSession.php", {}, 5s);
    INFO("request " << i << "\nlog:\n" << fpm.log());
    REQUIRE(r.ended);
    REQUIRE(r.status == 200);
  }
  std::map<pid_t, int> served;
  std::istringstream lines(read_file(log_path));
  for (std::string line; std::getline(lines, line);)
    ++served[std::stoi(line.substr(0, line.find(' ')))];
  for (auto& [pid, n] : served)
    if (n >= max) wait_until([child = pid] { return !pid_alive(child); }, 1s);
  fpm.wait_children(2, 1s);
  at_end = fpm.children();
  exits = fpm.log_count("exited with code 0");
  report = "access.log:\n" + read_file(log_path) + "log:\n" + fpm.log();
  return served;
}

}  // namespace

TEST_CASE("pm.max_requests: a child exits after N requests and is replaced",
          "[pm][static][max_requests]") {
  std::string report;
  std::vector<pid_t> at_boot, at_end;
  std::size_t exits = 0;
  constexpr int kRequests = 12;
  auto served = served_per_child(3, kRequests, report, at_boot, at_end, exits);
  INFO(report);
  int total = 0;
  for (auto& [pid, n] : served) {
    total += n;
    // N, or N + 1 when a connection slips in while the child winds down
    // (see the next test).
    CHECK(n <= 4);
    if (n >= 3) CHECK_FALSE(pid_alive(pid));
  }
  CHECK(total == kRequests);
  CHECK(served.size() >= 3);
  CHECK(at_end.size() == 2);
  CHECK(at_end != at_boot);
  CHECK(exits >= 2);
}

TEST_CASE("pm.max_requests is never exceeded by a child", "[pm][static][max_requests]") {
  // A child counts its Nth request only after its worker has freed the
  // thread and resumed accepting, so the next client's connection can be
  // accepted and served by the child that should be winding down.
  std::string report;
  std::vector<pid_t> at_boot, at_end;
  std::size_t exits = 0;
  auto served = served_per_child(2, 40, report, at_boot, at_end, exits);
  INFO(report);
  for (auto& [pid, n] : served) {
    INFO("child " << pid);
    CHECK(n <= 2);
  }
}

TEST_CASE("pm.max_requests: requests in flight when the limit is reached still complete",
          "[pm][static][max_requests]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "pm.threads_per_child", "2");
  set_key(pool, "pm.max_requests", "1");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t first = fpm.children().front();
  auto a = slow_request(fpm.endpoint, 300);
  std::this_thread::sleep_for(50ms);
  auto b = slow_request(fpm.endpoint, 1000);  // still running when `a` ends the child's quota
  CHECK(a.get().body == "slept 300\n");
  CHECK(b.get().body == "slept 1000\n");
  INFO("log:\n" << fpm.log());
  CHECK(wait_until([&] { return !pid_alive(first); }, 1s));
  CHECK(fpm.wait_children(1, 1s));
  CHECK(fpm.get("/ping").body == "pong");
}

TEST_CASE(
    "emergency_restart_threshold: children crashing within the interval make the master reload",
    "[pm][static][crash]") {
  auto pool = pm_pool(loopback_endpoint());
  PmServer fpm(pool, {{"emergency_restart_threshold", "2"}, {"emergency_restart_interval", "10s"}});
  REQUIRE(fpm.wait_children(2, 3s));
  pid_t master = fpm.pid();
  ::kill(fpm.children().front(), SIGSEGV);
  REQUIRE(wait_until([&] { return fpm.log_count("exited on signal 11") == 1; }, 2s));
  std::this_thread::sleep_for(200ms);
  ::kill(fpm.children().back(), SIGSEGV);
  INFO("log:\n" << fpm.log());
  CHECK(wait_until(
      [&] { return fpm.log_count("failed processes threshold (2 in 10 sec) is reached") == 1; },
      2s));
  CHECK(fpm.wait_ready(2, 3s));
  CHECK(fpm.pid() == master);
  CHECK(fpm.process().running());
  CHECK(fpm.get("/ping").body == "pong");
}
