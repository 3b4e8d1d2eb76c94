// Signals to the master, as php-fpm: SIGINT/SIGTERM fast stop, SIGQUIT
// graceful stop (escalating after process_control_timeout), SIGUSR1 reopens
// the logs, SIGUSR2 reloads (same master pid, new children, a broken config
// keeps the old pool) without failing a request under load.
#include <sys/wait.h>
#include <catch2/catch.hpp>

#include <csignal>
#include <sstream>

#include "support/http_client.h"
#include "support/nginx.h"
#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

bool all_gone(const std::vector<pid_t>& pids, Millis within) {
  return wait_until(
      [&] { return std::none_of(pids.begin(), pids.end(), [](pid_t p) { return pid_alive(p); }); },
      within);
}

std::size_t count_lines(const std::string& text) {
  return std::count(text.begin(), text.end(), '\n');
}

// The 1-based number of the line of `text` that holds `needle`.
int line_of(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.find(needle) != std::string::npos) return n;
  }
  return 0;
}

}  // namespace

TEST_CASE("SIGTERM: fast stop, in-flight requests abandoned, every process gone, port freed",
          "[pm][signals]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto children = fpm.children();
  auto slow = slow_request(fpm.endpoint, 5000);
  REQUIRE(wait_serving(fpm));
  Stopwatch watch;
  fpm.process().signal(SIGTERM);
  auto status = fpm.process().wait_exit(4s);
  INFO("log:\n" << fpm.log());
  REQUIRE(status);
  CHECK(describe_status(*status) == "exit 0");
  CHECK(watch.elapsed() < 2500ms);
  CHECK(all_gone(children, 1s));
  CHECK_FALSE(port_accepts(fpm.endpoint.port));
  auto r = slow.get();
  CHECK_FALSE(r.ended);
  CHECK(watch.elapsed() < 3000ms);
}

TEST_CASE("SIGINT: fast stop", "[pm][signals]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto children = fpm.children();
  Stopwatch watch;
  fpm.process().signal(SIGINT);
  auto status = fpm.process().wait_exit(4s);
  INFO("log:\n" << fpm.log());
  REQUIRE(status);
  CHECK(describe_status(*status) == "exit 0");
  CHECK(watch.elapsed() < 2000ms);
  CHECK(all_gone(children, 1s));
  CHECK_FALSE(port_accepts(fpm.endpoint.port));
}

TEST_CASE("SIGQUIT: graceful stop, the in-flight request completes", "[pm][signals]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto children = fpm.children();
  auto slow = slow_request(fpm.endpoint, 1500);
  REQUIRE(wait_serving(fpm));
  Stopwatch watch;
  fpm.process().signal(SIGQUIT);
  auto r = slow.get();
  auto status = fpm.process().wait_exit(5s);
  INFO("log:\n" << fpm.log());
  CHECK(r.ended);
  CHECK(r.body == "slept 1500\n");
  REQUIRE(status);
  CHECK(describe_status(*status) == "exit 0");
  CHECK(watch.elapsed() >= 1000ms);
  CHECK(watch.elapsed() < 3500ms);
  CHECK(all_gone(children, 1s));
  CHECK_FALSE(port_accepts(fpm.endpoint.port));
}

TEST_CASE("SIGQUIT: a request outliving process_control_timeout is ended (QUIT -> TERM)",
          "[pm][signals]") {
  PmServer fpm(pm_pool(loopback_endpoint()), {{"process_control_timeout", "1s"}});
  REQUIRE(fpm.wait_children(2, 3s));
  auto children = fpm.children();
  auto slow = slow_request(fpm.endpoint, 8000);
  REQUIRE(wait_serving(fpm));
  Stopwatch watch;
  fpm.process().signal(SIGQUIT);
  auto status = fpm.process().wait_exit(5s);
  INFO("log:\n" << fpm.log());
  REQUIRE(status);
  CHECK(watch.elapsed() < 3500ms);
  CHECK(all_gone(children, 1s));
  CHECK(fpm.log_count("sending SIGTERM") >= 1);
  CHECK_FALSE(slow.get().ended);
}

TEST_CASE("SIGQUIT: idle kept-open connections do not hold up a graceful stop", "[pm][signals]") {
  // process_control_timeout is 0 (no escalation): the stop must not wait
  // for clients that keep connections open, as nginx does.
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto children = fpm.children();
  std::vector<std::unique_ptr<PmClient>> kept;
  for (int i = 0; i < 4; ++i) {
    kept.push_back(std::make_unique<PmClient>(fpm.endpoint));
    REQUIRE(kept.back()->request(nginx_params("/ping"), true, 1, 2s).body == "pong");
  }
  PmClient silent(fpm.endpoint);  // connected, never says a word
  Stopwatch watch;
  fpm.process().signal(SIGQUIT);
  auto status = fpm.process().wait_exit(6s);
  INFO("log:\n" << fpm.log());
  REQUIRE(status);
  CHECK(watch.elapsed() < 3500ms);
  CHECK(all_gone(children, 1s));
  for (auto& k : kept) CHECK(k->closed_by_server(500ms));
}

TEST_CASE("SIGUSR1: the access log and the error log are reopened", "[pm][signals]") {
  TempDir logs("cppfpm-pm-logs-");
  auto access = logs / "access.log";
  auto errors = logs / "error.log";
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "access.log", access.string());
  set_key(pool, "access.format", "\"%m %r %s\"");
  PmServer fpm(pool, {{"error_log", errors.string()}});
  REQUIRE(fpm.wait_children(2, 3s));
  auto before_children = fpm.children();

  REQUIRE(fpm.get("/setSession.php", "first=1").status == 200);
  REQUIRE(wait_until([&] { return read_file(access).find("first=1") != std::string::npos; }, 1s));
  std::filesystem::rename(access, logs / "access.log.1");
  std::filesystem::rename(errors, logs / "error.log.1");

  fpm.process().signal(SIGUSR1);
  INFO("old error log:\n" << read_file(logs / "error.log.1"));
  // The master opens access.log and error.log anew, creating them.
  REQUIRE(wait_until(
      [&] { return std::filesystem::exists(access) && std::filesystem::exists(errors); }, 2s));
  // The children are replaced (as php-fpm 8.2 does): new ones write the new access.log.
  REQUIRE(fpm.wait_replaced(before_children, 2, 5s));

  for (int i = 0; i < 4; ++i)
    REQUIRE(fpm.get("/setSession.php", "second=" + std::to_string(i)).status == 200);
  std::string now = read_file(access), before = read_file(logs / "access.log.1");
  INFO("access.log:\n" << now << "access.log.1:\n" << before);
  CHECK(count_lines(now) == 4);
  CHECK(now.find("GET /setSession.php?second=0 200") != std::string::npos);
  CHECK(count_lines(before) == 1);
  CHECK(before.find("first=1") != std::string::npos);

  // The master writes to the new error log: a child killed now is logged there.
  pid_t victim = fpm.children().front();
  ::kill(victim, SIGKILL);
  std::string needle = "child " + std::to_string(victim) + " exited on signal 9";
  CHECK(wait_until([&] { return read_file(errors).find(needle) != std::string::npos; }, 2s));
  CHECK(read_file(logs / "error.log.1").find(needle) == std::string::npos);
}

TEST_CASE("SIGUSR2: reload re-executes the master (same pid) and new children serve the new config",
          "[pm][signals][reload]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto old_children = fpm.children();
  pid_t master = fpm.pid();
  std::string exe =
      std::filesystem::read_symlink("/proc/" + std::to_string(master) + "/exe").string();

  set_key(fpm.pool, "pm.max_children", "3");
  set_key(fpm.pool, "ping.response", "reloaded");
  fpm.write_config();
  fpm.process().signal(SIGUSR2);
  INFO("log:\n" << fpm.log());
  REQUIRE(fpm.wait_ready(2, 5s));
  CHECK(fpm.process().running());
  CHECK(fpm.pid() == master);
  CHECK(fpm.log_count("Reloading in progress") == 1);
  CHECK(all_gone(old_children, 3s));
  CHECK(fpm.wait_children(3, 3s));
  auto now = fpm.children();
  for (pid_t p : old_children) CHECK(std::find(now.begin(), now.end(), p) == now.end());
  CHECK(fpm.get("/ping").body == "reloaded");
  CHECK(fpm.status()["total processes"] == "3");
  CHECK(std::filesystem::read_symlink("/proc/" + std::to_string(master) + "/exe").string() == exe);
}

TEST_CASE(
    "SIGUSR2: a request in flight completes on its old child while new children answer and old "
    "ones are reaped",
    "[pm][signals][reload]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto old_children = fpm.children();
  auto slow = slow_request(fpm.endpoint, 2500);
  REQUIRE(wait_serving(fpm));
  fpm.process().signal(SIGUSR2);
  INFO("log:\n" << fpm.log());
  REQUIRE(fpm.wait_ready(2, 5s));
  // While the old child finishes its request, the new generation serves;
  // once it is up: the first ping, untimed, may wait for the new children.
  CHECK(fpm.get("/ping", {}, 3s).body == "pong");
  for (int i = 0; i < 5; ++i) {
    Stopwatch watch;
    CHECK(fpm.get("/ping", {}, 3s).body == "pong");
    CHECK(watch.elapsed() < 500ms);
  }
  // A second reload while the old child still works is passed on too.
  auto second_generation = fpm.children();
  fpm.process().signal(SIGUSR2);
  REQUIRE(fpm.wait_ready(3, 5s));
  auto r = slow.get();
  CHECK(r.ended);
  CHECK(r.body == "slept 2500\n");
  CHECK(all_gone(old_children, 2s));
  CHECK(wait_until([&] { return zombie_children(fpm.pid()).empty(); }, 2s));
  CHECK(fpm.wait_children(2, 2s));
  for (pid_t p : second_generation) CHECK_FALSE(pid_alive(p));
  CHECK(fpm.get("/ping").body == "pong");
}

TEST_CASE("SIGUSR2 can move the pool to another listen port", "[pm][signals][reload]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  Endpoint old_endpoint = fpm.endpoint;
  fpm.endpoint = loopback_endpoint();
  set_key(fpm.pool, "listen", fpm.endpoint.listen());
  fpm.write_config();
  fpm.process().signal(SIGUSR2);
  INFO("log:\n" << fpm.log());
  REQUIRE(fpm.wait_ready(2, 5s));
  CHECK(fpm.get("/ping").body == "pong");
  CHECK(wait_until([&] { return !port_accepts(old_endpoint.port); }, 2s));
}

TEST_CASE("SIGUSR2 with a broken config: the old pool keeps serving and the log names FILE:LINE",
          "[pm][signals][reload]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto old_children = fpm.children();

  std::string good = read_file(fpm.config_path());
  std::string broken = good + "this line is not ini\n";
  write_file(fpm.config_path(), broken);
  int bad_line = line_of(broken, "this line is not ini");
  REQUIRE(bad_line > 0);
  fpm.process().signal(SIGUSR2);
  std::string where = fpm.config_path().string() + ":" + std::to_string(bad_line);
  bool named = wait_until([&] { return fpm.log_count(where) >= 1; }, 3s);
  std::this_thread::sleep_for(500ms);
  INFO("expected " << where << " in the log:\n" << fpm.log());
  CHECK(named);
  CHECK(fpm.process().running());
  CHECK(fpm.log_count("ready to handle connections") == 1);
  CHECK(fpm.children() == old_children);
  for (int i = 0; i < 4; ++i) CHECK(fpm.get("/ping").body == "pong");

  // Fixed, the next SIGUSR2 reloads.
  write_file(fpm.config_path(), good);
  fpm.process().signal(SIGUSR2);
  CHECK(fpm.wait_ready(2, 5s));
  CHECK(all_gone(old_children, 3s));
  CHECK(fpm.get("/ping").body == "pong");
}

TEST_CASE("SIGUSR2 under load: not one request fails", "[pm][signals][reload][load]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "2");
  set_key(pool, "pm.threads_per_child", "4");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));
  auto old_children = fpm.children();

  PmLoad load(fpm.endpoint, 4, "/__test/sleep", "ms=20");
  std::this_thread::sleep_for(1000ms);
  int before_reload = load.ok();
  fpm.process().signal(SIGUSR2);
  std::this_thread::sleep_for(2000ms);
  load.stop();
  INFO("ok " << load.ok() << ", failed " << load.failed() << "\n"
             << load.failures() << "log:\n"
             << fpm.log());
  CHECK(fpm.wait_ready(2, 1s));
  CHECK(load.failed() == 0);
  CHECK(before_reload > 20);
  CHECK(load.ok() > before_reload + 20);
  CHECK(all_gone(old_children, 2s));
}

TEST_CASE("SIGUSR2 under load through nginx with kept upstream connections: not one request fails",
          "[pm][signals][reload][load][nginx]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.threads_per_child", "4");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(2, 3s));
  TempDir nginx_dir("cppfpm-pm-nginx-");
  Nginx nginx(nginx_dir.path(), fpm.endpoint.port);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mutex;
  std::string failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      while (!stop) {
        auto r = http_get(nginx.port(), "/setSession.php", {}, 5s);
        if (r.status == 200) {
          ++ok;
          continue;
        }
        ++failed;
        std::lock_guard lock(mutex);
        failures += "status " + std::to_string(r.status) + ": " + r.body.substr(0, 100) + "\n";
      }
    });
  std::this_thread::sleep_for(1000ms);
  int before = ok.load();
  fpm.process().signal(SIGUSR2);
  std::this_thread::sleep_for(2000ms);
  stop = true;
  for (auto& t : clients) t.join();
  INFO("ok " << ok << ", failed " << failed << "\n"
             << failures << "nginx error log:\n"
             << nginx.error_log() << "cppfpm log:\n"
             << fpm.log());
  CHECK(fpm.wait_ready(2, 1s));
  CHECK(failed == 0);
  CHECK(before > 20);
  CHECK(ok > before + 20);
}
