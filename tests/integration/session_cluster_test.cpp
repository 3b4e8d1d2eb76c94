// Three memcached in session.save_path with session.replicas = 1: 1000
// sessions survive a kill -9 of any one server, the dead server is skipped
// within the timeout, and when it comes back (empty) everything keeps
// working. The figures are printed for the note.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/cppfpm.h"
#include "support/fcgi_client.h"
#include "support/mariadb.h"
#include "support/memcached.h"
#include "support/php.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

constexpr int kSessions = 1000;

struct Cluster {
  TempDir dir{"cppfpm-cluster-"};
  std::vector<std::unique_ptr<Memcached>> servers;
  std::unique_ptr<Cppfpm> fpm;

  Cluster() {
    std::string save_path;
    for (int i = 0; i < 3; ++i) {
      const auto server_dir = dir / ("mc" + std::to_string(i));
      std::filesystem::create_directories(server_dir);
      servers.push_back(std::make_unique<Memcached>(server_dir));
      save_path += (i ? ", " : "") + servers.back()->save_path();
    }
    ConfigKeys pool = default_pool(free_loopback_port(), servers[0]->port(), shared_mariadb().port);
    set_key(pool, "session.save_path", "\"" + save_path + "\"");
    set_key(pool, "session.replicas", "1");
    set_key(pool, "session.memcached_timeout", "500ms");
    fpm = std::make_unique<Cppfpm>(dir / "fpm", pool);
  }
};

// Visits setSession with each session's cookie; the ones whose stored
// time came back unchanged under the same id are kept.
int readable(int port, const std::map<std::string, std::int64_t>& sessions,
             std::string* first_failure) {
  int ok = 0;
  for (const auto& [id, timestamp] : sessions) {
    auto r = fcgi_get(port, "/setSession.php", "PHPSESSID=" + id);
    auto page = parse_set_session(r.body);
    if (r.status == 200 && page && page->id == id && page->timestamp == timestamp &&
        !r.header("Set-Cookie")) {
      ++ok;
    } else if (first_failure && first_failure->empty()) {
      *first_failure = id + ": " + r.stdout_data;
    }
  }
  return ok;
}

std::map<std::string, std::int64_t> create(int port, int count) {
  std::map<std::string, std::int64_t> sessions;
  for (int i = 0; i < count; ++i) {
    auto r = fcgi_get(port, "/setSession.php");
    auto page = parse_set_session(r.body);
    if (r.status == 200 && page) sessions[page->id] = page->timestamp;
  }
  return sessions;
}

}  // namespace

TEST_CASE("session cluster: 3 memcached with replicas=1 lose no session to a kill -9",
          "[session][cluster][memcached]") {
  for (int victim = 0; victim < 3; victim += 2) {  // the first and the last of the list
    INFO("victim: server " << victim);
    Cluster cluster;
    const int port = cluster.fpm->port();
    const auto sessions = create(port, kSessions);
    REQUIRE(sessions.size() == kSessions);
    std::size_t items = 0;
    for (auto& server : cluster.servers) {
      const auto on_server = memcached_items(server->port());
      CHECK(on_server.size() > 0);  // consistent hashing spreads them
      items += on_server.size();
    }
    CHECK(items >= 2 * kSessions);  // each session twice (and its lock key)

    cluster.servers[victim]->kill();
    std::string failure;
    const auto t0 = std::chrono::steady_clock::now();
    const int after_kill = readable(port, sessions, &failure);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    INFO("first failure: " << failure << "\nlog:\n" << cluster.fpm->log().substr(0, 4000));
    CHECK(after_kill == kSessions);
    CHECK(took < 60s);

    cluster.servers[victim]->restart();
    std::this_thread::sleep_for(3s);  // MEMCACHED_BEHAVIOR_RETRY_TIMEOUT: dialled again
    failure.clear();
    const int after_restart = readable(port, sessions, &failure);
    const auto fresh = create(port, 100);
    const int fresh_readable = readable(port, fresh, &failure);
    CHECK(after_restart == kSessions);
    CHECK(fresh.size() == 100);
    CHECK(fresh_readable == 100);
    CHECK(memcached_items(cluster.servers[victim]->port()).size() > 0);  // in use again
    std::cout << "session cluster (server " << victim << " killed): created " << sessions.size()
              << ", read after kill -9 " << after_kill << " in " << took.count() << " ms, lost "
              << kSessions - after_kill << "; after restart read " << after_restart
              << ", new sessions " << fresh_readable << "/100\n";
  }
}
