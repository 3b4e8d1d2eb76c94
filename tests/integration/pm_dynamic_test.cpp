// pm = dynamic and pm = ondemand: child counts before, during and after a
// bounded load of slow pages (/__test/sleep), read from /proc and from the
// status page.
#include <catch2/catch.hpp>

#include <sstream>

#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

// Children counted every 50 ms while `run` lasts; the timeline ("t=0.00s
// n=2") goes into failure messages.
struct Sampler {
  std::size_t most = 0;
  std::size_t least = SIZE_MAX;
  std::string timeline;

  void sample(PmServer& fpm, const Stopwatch& since) {
    std::size_t n = fpm.children().size();
    most = std::max(most, n);
    least = std::min(least, n);
    std::ostringstream line;
    line << "t=" << since.elapsed().count() << "ms n=" << n << "\n";
    timeline += line.str();
  }
  void run_for(PmServer& fpm, const Stopwatch& since, Millis until) {
    while (since.elapsed() < until) {
      sample(fpm, since);
      std::this_thread::sleep_for(50ms);
    }
  }
  // Samples until every answer is in (at most `limit`).
  void run_until_answered(PmServer& fpm, const Stopwatch& since,
                          std::vector<std::future<FcgiResponse>>& answers, Millis limit) {
    auto pending = [&] {
      return std::any_of(answers.begin(), answers.end(),
                         [](auto& f) { return f.wait_for(0s) != std::future_status::ready; });
    };
    while (pending() && since.elapsed() < limit) {
      sample(fpm, since);
      std::this_thread::sleep_for(50ms);
    }
  }
};

ConfigKeys dynamic_pool() {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm", "dynamic");
  set_key(pool, "pm.max_children", "4");
  set_key(pool, "pm.start_servers", "2");
  set_key(pool, "pm.min_spare_servers", "1");
  set_key(pool, "pm.max_spare_servers", "2");
  set_key(pool, "pm.threads_per_child", "1");
  return pool;
}

ConfigKeys ondemand_pool() {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm", "ondemand");
  set_key(pool, "pm.max_children", "3");
  set_key(pool, "pm.process_idle_timeout", "2s");
  set_key(pool, "pm.threads_per_child", "1");
  return pool;
}

}  // namespace

TEST_CASE("pm dynamic: pm.start_servers at boot, and no more while idle", "[pm][dynamic]") {
  PmServer fpm(dynamic_pool());
  INFO("log:\n" << fpm.log());
  REQUIRE(fpm.wait_children(2, 3s));
  Stopwatch watch;
  Sampler s;
  s.run_for(fpm, watch, 1500ms);
  INFO(s.timeline);
  CHECK(s.most == 2);
  CHECK(s.least == 2);
  auto status = fpm.status();
  CHECK(status["process manager"] == "dynamic");
  // The child answering the status page is active, as in php-fpm.
  CHECK(status["idle processes"] == "1");
  CHECK(status["active processes"] == "1");
  CHECK(status["total processes"] == "2");
}

TEST_CASE(
    "pm dynamic: grows under load up to pm.max_children, then falls back to pm.max_spare_servers",
    "[pm][dynamic][load]") {
  PmServer fpm(dynamic_pool());
  REQUIRE(fpm.wait_children(2, 3s));

  // Four 3.3 s requests, each arriving when a child is free to take it
  // alone: at 0 and 0.2 s (the 2 children at boot), 1.3 s (the child the
  // first maintenance tick spawned) and 2.3 s (the second tick's). The
  // third tick finds 4 children, none idle: max children reached.
  Stopwatch watch;
  Sampler s;
  std::vector<std::future<FcgiResponse>> slow;
  for (Millis at : {0ms, 200ms, 1300ms, 2300ms}) {
    s.run_for(fpm, watch, at);
    slow.push_back(slow_request(fpm.endpoint, 3300));
  }
  s.run_until_answered(fpm, watch, slow, 10s);
  for (auto& f : slow) CHECK(f.get().body == "slept 3300\n");
  std::size_t peak = s.most;
  Millis load_done = watch.elapsed();

  // Back to pm.max_spare_servers (2) as the children go idle, one child
  // ended per second.
  s.run_for(fpm, watch, load_done + 2200ms);
  std::vector<std::pair<Millis, std::size_t>> drops;
  std::size_t last = 0;
  std::istringstream timeline(s.timeline);
  for (std::string line; std::getline(timeline, line);) {
    long t = std::stol(line.substr(2));
    std::size_t n = std::stoul(line.substr(line.find("n=") + 2));
    if (last > 0 && n < last) drops.emplace_back(Millis(t), n);
    last = n;
  }
  auto after = fpm.status();
  INFO("load done at " << load_done.count() << " ms; children by time:\n"
                       << s.timeline << "log:\n"
                       << fpm.log());
  CHECK(peak == 4);
  CHECK(s.most <= 4);
  CHECK(load_done < 6500ms);
  CHECK(fpm.children().size() == 2);
  CHECK(drops.size() == 2);
  for (std::size_t i = 1; i < drops.size(); ++i)
    CHECK(drops[i].first - drops[i - 1].first >= 700ms);
  CHECK(fpm.log_count(
            "[pool www] server reached pm.max_children setting (4), consider raising it") >= 1);
  CHECK(std::stoi(after["max children reached"]) >= 1);
  CHECK(after["total processes"] == "2");
  CHECK(after["idle processes"] == "1");  // and the one answering this page
  CHECK(after["max active processes"] == "4");
}

TEST_CASE("pm dynamic: a burst of connections is served by the children the pm spawns",
          "[pm][dynamic][load]") {
  // Eight 1.5 s requests at once on 2 children of one thread: the pm spawns
  // up to 4 children (one per 1 s tick) and those serve the waiting
  // connections. The 4th child, spawned at the 2 s tick, is at
  // pm.max_children with every other child busy, so it may queue one
  // request behind its first: about 2 + 1.5 + 1.5 = 5 s. Without the
  // spawned children the first two would need four rounds, 6 s.
  PmServer fpm(dynamic_pool());
  REQUIRE(fpm.wait_children(2, 3s));
  Stopwatch watch;
  Sampler s;
  std::vector<std::future<FcgiResponse>> slow;
  for (int i = 0; i < 8; ++i) slow.push_back(slow_request(fpm.endpoint, 1500));
  s.run_for(fpm, watch, 2500ms);
  for (auto& f : slow) CHECK(f.get().body == "slept 1500\n");
  auto took = watch.elapsed();
  auto status = fpm.status();
  INFO("took " << took.count() << " ms; children by time:\n" << s.timeline);
  CHECK(s.most == 4);
  CHECK(took < 5800ms);
  CHECK(status["max active processes"] == "4");
}

TEST_CASE(
    "pm ondemand: no child at boot, one per waiting connection, ended after "
    "pm.process_idle_timeout",
    "[pm][ondemand]") {
  PmServer fpm(ondemand_pool());
  INFO("log:\n" << fpm.log());
  std::this_thread::sleep_for(1200ms);
  CHECK(fpm.children().empty());

  Stopwatch watch;
  auto r = fpm.get("/ping", {}, 5s);
  auto took = watch.elapsed();
  CHECK(r.body == "pong");
  CHECK(took < 1000ms);
  CHECK(fpm.children().size() == 1);

  // Idle for pm.process_idle_timeout (2 s), then ended (checked once a second).
  Stopwatch idle;
  REQUIRE(fpm.wait_children(0, 5s));
  CHECK(idle.elapsed() >= 1500ms);
  CHECK(idle.elapsed() <= 3500ms);
  // And another connection brings one back.
  CHECK(fpm.get("/ping", {}, 5s).body == "pong");
}

TEST_CASE("pm ondemand: waiting connections spawn children up to pm.max_children",
          "[pm][ondemand][load]") {
  PmServer fpm(ondemand_pool());
  Stopwatch watch;
  Sampler s;
  std::vector<std::future<FcgiResponse>> slow;
  // 200 ms apart: each finds the children before it busy; the fourth
  // waits for the first child that is free again.
  for (int i = 0; i < 4; ++i) {
    slow.push_back(slow_request(fpm.endpoint, 1500));
    s.run_for(fpm, watch, Millis(200 * (i + 1)));
  }
  s.run_for(fpm, watch, 1500ms);
  for (auto& f : slow) CHECK(f.get().body == "slept 1500\n");
  auto took = watch.elapsed();
  auto status = fpm.status();
  INFO("children by time:\n"
       << s.timeline << "took " << took.count() << " ms\nlog:\n"
       << fpm.log());
  CHECK(s.most == 3);
  // Two rounds on 3 children: the fourth may wait in the youngest child
  // (spawned at about 0.4 s), whose first request ends at about 1.9 s.
  CHECK(took < 4000ms);
  CHECK(status["process manager"] == "ondemand");
  CHECK(std::stoi(status["max children reached"]) >= 1);
  CHECK(fpm.log_count(
            "[pool www] server reached pm.max_children setting (3), consider raising it") >= 1);
}

TEST_CASE("pm ondemand: a burst of connections spawns children up to pm.max_children",
          "[pm][ondemand][load]") {
  // Five 1.5 s requests at once: the first child must not take them all.
  PmServer fpm(ondemand_pool());
  Stopwatch watch;
  Sampler s;
  std::vector<std::future<FcgiResponse>> slow;
  for (int i = 0; i < 5; ++i) slow.push_back(slow_request(fpm.endpoint, 1500));
  s.run_for(fpm, watch, 1200ms);
  for (auto& f : slow) CHECK(f.get().body == "slept 1500\n");
  auto took = watch.elapsed();
  INFO("children by time:\n"
       << s.timeline << "took " << took.count() << " ms\nlog:\n"
       << fpm.log());
  CHECK(s.most == 3);
  CHECK(took < 4000ms);
}

TEST_CASE("pm dynamic: a worker thread still reading a request body counts as active",
          "[pm][dynamic]") {
  // A slow upload pins the only worker thread of the only child while its
  // FCGI_STDIN trickles in. php-fpm counts such a child as busy (its
  // "Reading headers" stage), so the pm spawns a spare and other requests
  // are served meanwhile.
  auto pool = dynamic_pool();
  set_key(pool, "pm.start_servers", "1");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  PmClient kept(fpm.endpoint);
  REQUIRE(kept.request(nginx_params("/ping"), true, 1, 2s).body == "pong");

  PmClient upload(fpm.endpoint);
  Params params = nginx_params("/setSession.php");
  for (auto& [name, value] : params) {
    if (name == "REQUEST_METHOD") value = "POST";
    if (name == "CONTENT_LENGTH") value = "100";
  }
  std::string pairs;
  for (const auto& [name, value] : params) pairs += fcgi::name_value(name, value);
  std::string head =
      fcgi::record(fcgi::begin_request, 1, fcgi::begin_request_body(fcgi::role_responder, 0));
  head += fcgi::stream(fcgi::params, 1, pairs);
  head += fcgi::record(fcgi::stdin_stream, 1, std::string(10, 'x'));  // 10 of 100 bytes
  REQUIRE(send_all(upload.fd(), head));
  std::this_thread::sleep_for(500ms);

  auto fields = parse_status_text(kept.request(nginx_params("/status"), true, 2, 2s).body);
  CHECK(fields["active processes"] == "1");
  CHECK(fields["idle processes"] == "0");
  // Within two maintenance ticks a spare child exists and serves.
  CHECK(fpm.wait_children(2, 2500ms));
  Stopwatch watch;
  auto r = fpm.get("/ping", {}, 2s);
  INFO("ping took " << watch.elapsed().count() << " ms");
  CHECK(r.body == "pong");
  CHECK(watch.elapsed() < 1000ms);
}
