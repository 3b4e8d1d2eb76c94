// pm.status_path and ping.path: php-fpm's fields in text, ?json,
// ?openmetrics and ?full, checked against what the test did; a child is
// active while any of its worker threads serves a request; both pages
// answer while every worker thread is busy.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>

#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

// Asks the status page on `kept` until no worker thread serves a request
// (a worker marks itself idle just after its answer went out). The child
// answering counts as active, as in php-fpm, so `?full` says which serve.
void wait_all_idle(PmClient& kept, std::uint16_t& id) {
  wait_until(
      [&] {
        auto r = kept.request(nginx_params("/status", {}, "full"), true, ++id, 2s);
        for (auto& p : pm_status_processes(r.body))
          if (p["request URI"] != "-") return false;
        return true;
      },
      2s);
}

// Seven connections of different kinds; the last one carries three
// requests and is kept open, returned (with its last request id) for
// asking the status page without making another connection.
constexpr int kConnectionsMade = 7;
std::unique_ptr<PmClient> make_seven_connections(PmServer& fpm, std::uint16_t& id) {
  for (int i = 0; i < 3; ++i) REQUIRE(fpm.get("/ping").body == "pong");
  for (int i = 0; i < 2; ++i) REQUIRE(fpm.get("/setSession.php").status == 200);
  REQUIRE(fpm.get("/nothing-here.php").status == 404);
  auto kept = std::make_unique<PmClient>(fpm.endpoint);
  for (id = 1; id <= 3; ++id) {
    auto r = kept->request(nginx_params("/showSession.php"), true, id, 5s);
    REQUIRE(r.ended);
    REQUIRE(r.status == 200);
  }
  wait_all_idle(*kept, id);
  return kept;
}

std::string json_number(const std::string& body, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(body, m, std::regex("\"" + name + "\":([0-9]+)"))) return "absent";
  return m[1];
}

}  // namespace

TEST_CASE("status: every field, and accepted conn equals the connections made", "[pm][status]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  std::uint16_t id = 0;
  auto kept = make_seven_connections(fpm, id);

  auto r = fpm.get("/status");
  INFO("status:\n" << r.stdout_data << "\nlog:\n" << fpm.log());
  REQUIRE(r.status == 200);
  // php-fpm's bytes, compared with php8.2-fpm in php_fpm_parity_test.
  CHECK(r.header("Content-type") == "text/plain;charset=UTF-8");
  auto fields = parse_status_text(r.body);
  for (const char* name :
       {"pool", "process manager", "start time", "start since", "accepted conn", "listen queue",
        "max listen queue", "listen queue len", "idle processes", "active processes",
        "total processes", "max active processes", "max children reached", "slow requests"})
    CHECK(fields.count(name) == 1);
  CHECK(fields["pool"] == "www");
  CHECK(fields["process manager"] == "static");
  // The status request's own connection is the eighth.
  CHECK(fields["accepted conn"] == std::to_string(kConnectionsMade + 1));
  CHECK(fields["total processes"] == "2");
  // The child answering is active while it does, as php-fpm counts it
  // (compared with php8.2-fpm in php_fpm_parity_test).
  CHECK(fields["idle processes"] == "1");
  CHECK(fields["active processes"] == "1");
  CHECK(fields["listen queue"] == "0");
  // listen.backlog = -1 by default, as php-fpm 8 on Linux: the kernel's maximum.
  CHECK(fields["listen queue len"] ==
        read_file("/proc/sys/net/core/somaxconn")
            .substr(0, read_file("/proc/sys/net/core/somaxconn").find('\n')));
  CHECK(fields["max children reached"] == "0");
  CHECK(fields["slow requests"] == "0");
  CHECK(std::stoi(fields["start since"]) <= 5);
  CHECK(std::regex_match(fields["start time"],
                         std::regex(R"(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})")));
}

TEST_CASE("status: ?json, ?openmetrics and ?full agree with the pool", "[pm][status]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  std::uint16_t id = 0;
  auto kept = make_seven_connections(fpm, id);

  auto json = fpm.get("/status", "json");
  INFO("json: " << json.stdout_data);
  CHECK(json.header("Content-Type") == "application/json");
  CHECK(json.body.find("\"pool\":\"www\"") != std::string::npos);
  CHECK(json.body.find("\"process manager\":\"static\"") != std::string::npos);
  CHECK(json_number(json.body, "accepted conn") == std::to_string(kConnectionsMade + 1));
  CHECK(json_number(json.body, "total processes") == "2");
  CHECK(json_number(json.body, "idle processes") == "1");  // the answering child is active
  CHECK(json.body.find("\"processes\"") == std::string::npos);

  auto metrics = fpm.get("/status", "openmetrics");
  INFO("openmetrics: " << metrics.stdout_data);
  CHECK(metrics.header("Content-Type").value_or("").rfind("application/openmetrics-text", 0) == 0);
  CHECK(metrics.body.find("\nphpfpm_accepted_connections " + std::to_string(kConnectionsMade + 2) +
                          "\n") != std::string::npos);
  CHECK(metrics.body.find("\nphpfpm_total_processes 2\n") != std::string::npos);
  CHECK(metrics.body.find("\nphpfpm_up 1\n") != std::string::npos);
  CHECK(metrics.body.size() >= 6);
  CHECK(metrics.body.substr(metrics.body.size() - 6) == "# EOF\n");

  auto full = fpm.get("/status", "full");
  INFO("full: " << full.stdout_data);
  auto pool = parse_status_text(full.body);
  CHECK(pool["accepted conn"] == std::to_string(kConnectionsMade + 3));
  auto procs = pm_status_processes(full.body);
  REQUIRE(procs.size() == 2);
  std::vector<pid_t> pids;
  long requests = 0;
  std::multiset<std::string> states;
  for (auto& p : procs) {
    pids.push_back(std::stoi(p["pid"]));
    states.insert(p["state"]);
    requests += std::stol(p["requests"]);
  }
  // The child answering is Running, as in php-fpm.
  CHECK(states == std::multiset<std::string>{"Idle", "Running"});
  std::sort(pids.begin(), pids.end());
  CHECK(pids == fpm.children());
  // setSession twice, the 404, showSession three times; ping and status
  // are served by the pool itself and may or may not count.
  CHECK(requests >= 6);

  auto json_full = fpm.get("/status", "json&full");
  INFO("json full: " << json_full.stdout_data);
  for (pid_t pid : pids)
    CHECK(json_full.body.find("\"pid\":" + std::to_string(pid) + ",") != std::string::npos);
}

TEST_CASE("status: a child is active while one of its threads serves a request", "[pm][status]") {
  auto pool = one_child_pool(loopback_endpoint(), 4);
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  // Opened first, as nginx keeps its upstream connections.
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 2s).body == "pong");

  auto slow = slow_request(fpm.endpoint, 1500);
  std::this_thread::sleep_for(400ms);
  auto r = kept.request(nginx_params("/status", {}, "full"), true, 2, 2s);
  INFO("status:\n" << r.stdout_data);
  auto fields = parse_status_text(r.body);
  CHECK(fields["active processes"] == "1");
  CHECK(fields["idle processes"] == "0");
  CHECK(fields["total processes"] == "1");
  auto procs = pm_status_processes(r.body);
  REQUIRE(procs.size() == 1);
  CHECK(procs[0]["state"] == "Running");
  CHECK(procs[0]["script"] == "/__test/sleep");
  CHECK(procs[0]["request URI"] == "/__test/sleep?ms=1500");
  // 400 ms after the client began, less its connect and the hand-over.
  CHECK(std::stol(procs[0]["request duration"]) >= 200000);

  CHECK(slow.get().body == "slept 1500\n");
  std::uint16_t id = 2;
  wait_all_idle(kept, id);
  auto after = parse_status_text(kept.request(nginx_params("/status"), true, ++id, 2s).body);
  // Only the status page itself serves now; php-fpm counts it as active.
  CHECK(after["active processes"] == "1");
  CHECK(after["idle processes"] == "0");
  CHECK(after["max active processes"] == "1");
}

TEST_CASE("status and ping answer on a kept connection while every worker thread is busy",
          "[pm][status]") {
  auto pool = one_child_pool(loopback_endpoint(), 2);
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 2s).body == "pong");

  auto a = slow_request(fpm.endpoint, 2000);
  auto b = slow_request(fpm.endpoint, 2000);
  std::this_thread::sleep_for(400ms);
  Stopwatch watch;
  auto r = kept.request(nginx_params("/status"), true, 2, 3s);
  CHECK(watch.elapsed() < 500ms);
  CHECK(parse_status_text(r.body)["active processes"] == "1");
  Stopwatch ping_watch;
  CHECK(kept.request(nginx_params("/ping"), true, 3, 3s).body == "pong");
  CHECK(ping_watch.elapsed() < 500ms);
  CHECK(a.get().ended);
  CHECK(b.get().ended);
}

TEST_CASE("status and ping answer on a new connection while every worker thread is busy",
          "[pm][status]") {
  // "Served by the pool itself, even when all worker threads are busy with
  // slow pages": a monitoring probe opens a fresh connection, which a
  // saturated child takes from the backlog after a short wait.
  auto pool = one_child_pool(loopback_endpoint(), 2);
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  auto a = slow_request(fpm.endpoint, 2500);
  auto b = slow_request(fpm.endpoint, 2500);
  std::this_thread::sleep_for(400ms);
  Stopwatch watch;
  auto r = fpm.get("/status", {}, 4s);
  auto took = watch.elapsed();
  INFO("status took " << took.count() << " ms");
  CHECK(took < 500ms);
  CHECK(parse_status_text(r.body)["active processes"] == "1");
  Stopwatch ping_watch;
  CHECK(fpm.get("/ping", {}, 4s).body == "pong");
  CHECK(ping_watch.elapsed() < 500ms);
  CHECK(a.get().body == "slept 2500\n");
  CHECK(b.get().body == "slept 2500\n");
}

TEST_CASE(
    "a request a saturated child takes from the backlog waits for its thread and counts as queued",
    "[pm][status]") {
  auto pool = one_child_pool(loopback_endpoint(), 1);
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 2s).body == "pong");

  auto slow = slow_request(fpm.endpoint, 1500);
  std::uint16_t id = 1;
  REQUIRE(wait_serving(kept, id));  // asked on `kept`: accepted conn stays 3
  Stopwatch watch;
  auto queued = slow_request(fpm.endpoint, 10);
  std::this_thread::sleep_for(600ms);  // taken from the backlog, waiting for the busy thread
  auto status = kept.request(nginx_params("/status"), true, ++id, 2s);
  INFO("status:\n" << status.stdout_data);
  CHECK(parse_status_text(status.body)["listen queue"] == "1");
  CHECK(slow.get().body == "slept 1500\n");
  CHECK(queued.get().body == "slept 10\n");
  CHECK(watch.elapsed() >= 1000ms);  // it did wait for the slow one
  auto after = kept.request(nginx_params("/status"), true, ++id, 2s);
  CHECK(parse_status_text(after.body)["listen queue"] == "0");
  CHECK(parse_status_text(after.body)["accepted conn"] == "3");
}

TEST_CASE("ping: ping.path answers ping.response", "[pm][status]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "ping.path", "/health");
  set_key(pool, "ping.response", "alive");
  set_key(pool, "pm.status_path", "/fpm-status");
  PmServer fpm(pool);
  auto r = fpm.get("/health");
  CHECK(r.status == 200);
  CHECK(r.body == "alive");
  CHECK(r.header("Content-type") == "text/plain;charset=UTF-8");
  CHECK(fpm.get("/ping").status == 404);
  CHECK(fpm.get("/status").status == 404);
  CHECK(parse_status_text(fpm.get("/fpm-status").body)["pool"] == "www");
}

TEST_CASE("pm.status_listen: status and ping on their own socket, whatever the workers do",
          "[pm][status]") {
  Endpoint main_at = loopback_endpoint();
  auto pool = one_child_pool(main_at, 1);
  Endpoint status_at = loopback_endpoint();
  while (status_at.port == main_at.port) status_at = loopback_endpoint();
  set_key(pool, "pm.status_listen", status_at.listen());
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));

  auto slow = slow_request(fpm.endpoint, 2000);
  REQUIRE(wait_serving(status_at));  // the status socket counts apart from accepted conn
  Stopwatch watch;
  auto r = pm_get(status_at, "/status", {}, 3s);
  INFO("status:\n" << r.stdout_data << "\nlog:\n" << fpm.log());
  CHECK(watch.elapsed() < 300ms);  // no backlog wait: this socket is always accepted on
  auto fields = parse_status_text(r.body);
  CHECK(fields["active processes"] == "1");
  CHECK(fields["accepted conn"] == "1");  // the slow request; the status socket counts apart
  CHECK(pm_get(status_at, "/ping", {}, 3s).body == "pong");
  // Nothing but the pool's pages there: a page is not served on the status socket.
  auto page = pm_get(status_at, "/__test/sleep", "ms=10", 3s);
  CHECK(page.status == 404);
  CHECK(page.body == "File not found.\n");
  CHECK(slow.get().body == "slept 2000\n");
}

namespace {

// User + system CPU time of `pid` in milliseconds (/proc/PID/stat fields 14, 15).
long cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;
  long utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK);
}

}  // namespace

TEST_CASE(
    "pm.status_listen: a finishing child does not spin on a status connection it will not take",
    "[pm][status][signals]") {
  Endpoint main_at = loopback_endpoint();
  auto pool = one_child_pool(main_at, 1);
  Endpoint status_at = loopback_endpoint();
  while (status_at.port == main_at.port) status_at = loopback_endpoint();
  set_key(pool, "pm.status_listen", status_at.listen());
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();

  auto slow = slow_request(fpm.endpoint, 1500);
  REQUIRE(wait_serving(status_at));
  fpm.process().signal(SIGQUIT);  // graceful: the child finishes the slow request, then exits
  std::this_thread::sleep_for(100ms);
  Fd waiting = pm_connect(status_at);  // nobody will take it now
  long before = cpu_ms(child);
  std::this_thread::sleep_for(700ms);
  long used = cpu_ms(child) - before;
  INFO("the finishing child used " << used << " ms of CPU in 700 ms");
  CHECK(used < 150);
  CHECK(slow.get().body == "slept 1500\n");
}
