#include <catch2/catch.hpp>

#include <vector>

#include "pool/pm.h"

using namespace cppfpm::pool;
using Action = DynamicStep::Action;

namespace {

PoolConfig dynamic_pool(int max_children, int min_spare, int max_spare, int max_spawn_rate = 32) {
  PoolConfig c;
  c.pm = PmMode::dynamic;
  c.pm_max_children = max_children;
  c.pm_min_spare_servers = min_spare;
  c.pm_max_spare_servers = max_spare;
  c.pm_max_spawn_rate = max_spawn_rate;
  return c;
}

}  // namespace

TEST_CASE("pm dynamic: more idle children than pm.max_spare_servers retires one per tick") {
  auto step = dynamic_step(dynamic_pool(10, 2, 4), 5, 8, 8);
  CHECK(step.action == Action::retire_longest_idle);
  CHECK(step.next_spawn_rate == 1);
}

TEST_CASE("pm dynamic: idle children between the spare bounds change nothing") {
  for (int idle : {2, 3, 4}) {
    auto step = dynamic_step(dynamic_pool(10, 2, 4), idle, 6, 16);
    CHECK(step.action == Action::steady);
    CHECK(step.next_spawn_rate == 1);
  }
}

TEST_CASE("pm dynamic: short of idle children at pm.max_children spawns none") {
  auto step = dynamic_step(dynamic_pool(6, 2, 4), 0, 6, 4);
  CHECK(step.action == Action::at_max_children);
  CHECK(step.next_spawn_rate == 1);
}

TEST_CASE(
    "pm dynamic: short of idle children spawns the missing ones, at most the rate and the room "
    "left") {
  auto by_rate = dynamic_step(dynamic_pool(50, 10, 20), 0, 5, 4);
  CHECK(by_rate.action == Action::spawn);
  CHECK(by_rate.spawn == 4);
  CHECK(by_rate.next_spawn_rate == 8);
  CHECK_FALSE(by_rate.busy);

  auto by_need = dynamic_step(dynamic_pool(50, 10, 20), 8, 20, 4);
  CHECK(by_need.spawn == 2);

  auto by_room = dynamic_step(dynamic_pool(12, 10, 20), 0, 9, 16);
  CHECK(by_room.spawn == 3);
  CHECK(by_room.busy);  // php-fpm warns from a rate of 8 on
}

TEST_CASE("pm dynamic: the spawn rate doubles while short, up to pm.max_spawn_rate") {
  const PoolConfig c = dynamic_pool(200, 100, 150, 16);
  int rate = 1, idle = 0, total = 0;
  std::vector<int> spawned;
  for (int tick = 0; tick < 7; ++tick) {
    auto step = dynamic_step(c, idle, total, rate);
    REQUIRE(step.action == Action::spawn);
    spawned.push_back(step.spawn);
    idle += step.spawn;  // the new children come up idle
    total += step.spawn;
    rate = step.next_spawn_rate;
  }
  CHECK(spawned == std::vector<int>{1, 2, 4, 8, 16, 16, 16});
  CHECK(dynamic_step(c, 63, 63, rate).busy);
}

TEST_CASE(
    "pm: after a child exits, static refills to pm.max_children, dynamic replaces what it did not "
    "end") {
  PoolConfig c = dynamic_pool(5, 1, 3);
  c.pm = PmMode::static_;
  CHECK(replacements_after_exit(c, 4, false) == 1);
  CHECK(replacements_after_exit(c, 2, false) == 3);
  c.pm = PmMode::dynamic;
  CHECK(replacements_after_exit(c, 3, false) == 1);  // crashed or pm.max_requests
  CHECK(replacements_after_exit(c, 3, true) == 0);   // ended for idleness
  CHECK(replacements_after_exit(c, 5, false) == 0);
  c.pm = PmMode::ondemand;
  CHECK(replacements_after_exit(c, 0, false) == 0);
}

TEST_CASE(
    "pm ondemand: a waiting connection spawns one child unless one is idle or the pool is full") {
  PoolConfig c = dynamic_pool(3, 1, 2);
  c.pm = PmMode::ondemand;
  CHECK(waiting_connection_step(c, 1, 2) == WaitingStep::none);
  CHECK(waiting_connection_step(c, 0, 2) == WaitingStep::spawn_one);
  CHECK(waiting_connection_step(c, 0, 3) == WaitingStep::at_max_children);
}
