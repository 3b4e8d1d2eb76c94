#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "pool/scoreboard.h"

using namespace cppfpm::pool;

TEST_CASE("scoreboard: a child is active while any of its threads serves") {
  Scoreboard board(3, 2);
  int a = board.claim(100, now_us());
  int b = board.claim(101, now_us());
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  CHECK(board.counts().idle == 2);
  board.request_started(a, 0, now_us(), "GET", "/x", "");
  board.request_started(a, 1, now_us(), "GET", "/y", "");
  CHECK(board.counts().active == 1);
  CHECK(board.counts().idle == 1);
  board.request_finished(a, 0, now_us());
  CHECK(board.counts().active == 1);  // thread 1 still serves
  board.request_finished(a, 1, now_us());
  CHECK(board.counts().active == 0);
  CHECK(board.child(a).requests == 2);
  CHECK(board.pool().max_active_processes == 1);
}

TEST_CASE("scoreboard: a request counts when it starts; a pool page makes its child active") {
  Scoreboard board(2, 1);
  int a = board.claim(100, now_us());
  board.request_started(a, 0, now_us(), "GET", "/x", "");
  CHECK(board.child(a).requests == 1);  // as php-fpm: counted while it runs
  board.request_finished(a, 0, now_us());
  CHECK(board.child(a).requests == 1);

  std::int64_t start = now_us();
  board.page_started(a);
  CHECK(board.child(a).requests == 2);
  CHECK(board.counts().active == 1);
  CHECK(board.counts().idle == 0);
  board.page_finished(a, start, start + 250);
  CHECK(board.counts().active == 0);
  CHECK(board.child(a).last_request_us == 250);
}

TEST_CASE("scoreboard: slots are claimed up to the capacity and reused after release") {
  Scoreboard board(2, 1);
  int a = board.claim(1, now_us());
  int b = board.claim(2, now_us());
  CHECK(board.claim(3, now_us()) == -1);
  CHECK(board.find(2) == b);
  board.release(a);
  CHECK(board.counts().total == 1);
  CHECK(board.claim(4, now_us()) == a);
}

TEST_CASE("scoreboard: counters written by a forked child are seen by the parent") {
  Scoreboard board(1, 1);
  int slot = board.claim(0, now_us());
  pid_t pid = ::fork();
  if (pid == 0) {
    board.pool().accepted_conn.fetch_add(5);
    board.request_started(slot, 0, now_us(), "GET", "/z", "");
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(board.pool().accepted_conn == 5);
  CHECK(board.counts().active == 1);
  CHECK(std::string(board.thread(slot, 0).script) == "/z");
}

TEST_CASE("scoreboard: a child's session locks are recorded for the master", "[pool][scoreboard]") {
  Scoreboard board(2, 3);
  int slot = board.claim(100, 1);
  REQUIRE(slot >= 0);
  const std::uint64_t token = std::uint64_t{1} << 62;
  int a = board.lock_taken(slot, "aaaa.lock", token);
  int b = board.lock_taken(slot, "bbbb.lock", token + (std::uint64_t{1} << 32));
  int c = board.lock_taken(slot, "cccc.lock", token + (std::uint64_t{2} << 32));
  CHECK(a >= 0);
  CHECK(b >= 0);
  CHECK(c >= 0);
  CHECK(board.lock_taken(slot, "dddd.lock", token) == -1);  // one per thread
  CHECK(board.lock_taken(slot, std::string(300, 'k'), token) == -1);
  board.lock_released(slot, b);
  auto held = board.held_locks(slot);
  REQUIRE(held.size() == 2);
  CHECK(held[0].key == "aaaa.lock");
  CHECK(held[0].token == token);
  CHECK(held[1].key == "cccc.lock");
  // The other child's entries are its own; a slot claimed again starts empty.
  CHECK(board.held_locks(1 - slot).empty());
  board.release(slot);
  slot = board.claim(101, 2);
  CHECK(board.held_locks(slot).empty());
}

TEST_CASE("scoreboard: a child sees how the other children stand to a lock", "[pool][scoreboard]") {
  Scoreboard board(3, 2);
  const int me = board.claim(200, 1);
  const int other = board.claim(201, 1);
  const int third = board.claim(202, 1);
  REQUIRE(me >= 0);
  REQUIRE(other >= 0);
  REQUIRE(third >= 0);
  const std::uint64_t token = std::uint64_t{1} << 62;
  CHECK(board.lock_contention(me, "hot.lock").waiting == 0);
  const int mine = board.lock_taken(me, "hot.lock", token);
  board.lock_acquired(me, mine);
  // My own entries never count: only other children's.
  CHECK(board.lock_contention(me, "hot.lock").waiting == 0);
  CHECK_FALSE(board.lock_contention(me, "hot.lock").held);
  const int asking = board.lock_taken(other, "hot.lock", token + 1);
  board.lock_taken(third, "hot.lock", token + 2);
  board.lock_taken(third, "cold.lock", token + 3);
  CHECK(board.lock_contention(me, "hot.lock").waiting == 2);
  CHECK_FALSE(board.lock_contention(me, "hot.lock").held);
  // The other child sees mine held, and the third child asking.
  CHECK(board.lock_contention(other, "hot.lock").held);
  CHECK(board.lock_contention(other, "hot.lock").waiting == 1);
  board.lock_released(me, mine);
  board.lock_acquired(other, asking);
  CHECK(board.lock_contention(me, "hot.lock").held);
  CHECK(board.lock_contention(me, "hot.lock").waiting == 1);
  // A released entry taken again starts as asked for, not held.
  board.lock_released(other, asking);
  board.lock_taken(other, "hot.lock", token + 4);
  CHECK_FALSE(board.lock_contention(me, "hot.lock").held);
  CHECK(board.lock_contention(me, "hot.lock").waiting == 2);
}
