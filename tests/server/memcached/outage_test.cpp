// memcached::OutageLog: one line when an outage starts and one when it
// ends, shared by every OutageLog of a slot (in every child of the pool).
#include "server/memcached/outage.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using cppfpm::memcached::OutageLog;
using namespace std::chrono_literals;

TEST_CASE("memcached outage log: once when it starts, once when it ends", "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog log(0ms, OutageLog::kQueryCacheSlot);
  CHECK_FALSE(log.succeeded());  // no outage to end
  CHECK(log.failed());
  CHECK_FALSE(log.failed());
  CHECK(log.succeeded());
  CHECK_FALSE(log.succeeded());
  OutageLog::reset_shared_state();
}

TEST_CASE("memcached outage log: failures within the grace are the outage's tail", "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog log(200ms, OutageLog::kQueryCacheSlot);
  CHECK(log.failed());
  CHECK(log.succeeded());
  CHECK_FALSE(log.failed());  // another child's handle still skips the server
  std::this_thread::sleep_for(250ms);
  CHECK(log.failed());  // a new outage
  OutageLog::reset_shared_state();
}

TEST_CASE("memcached outage log: back since a handle's failure, not before it nor while down",
          "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog log(0ms, OutageLog::kQueryCacheSlot);
  const auto before = OutageLog::Clock::now();
  CHECK_FALSE(log.back_since(before));  // never down: nothing came back
  CHECK(log.failed());
  const auto failed = OutageLog::Clock::now();
  CHECK_FALSE(log.back_since(failed));  // still down
  CHECK(log.succeeded());
  CHECK(log.back_since(before));
  CHECK(log.back_since(failed));
  CHECK_FALSE(log.back_since(OutageLog::Clock::now()));  // failed after the recovery
  CHECK(log.failed());                                   // down again (no grace)
  CHECK_FALSE(log.back_since(failed));
  OutageLog::reset_shared_state();
}

TEST_CASE("memcached outage log: one probe per interval across callers, a failure is one",
          "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog log(0ms, OutageLog::kQueryCacheSlot);
  OutageLog other(0ms, OutageLog::kQueryCacheSlot);  // another thread or child
  CHECK(log.failed());
  CHECK_FALSE(log.probe_due(100ms));  // that failure just probed
  const auto later = OutageLog::Clock::now() + 150ms;
  CHECK(log.probe_due(100ms, later));
  CHECK_FALSE(other.probe_due(100ms, later));
  CHECK_FALSE(other.probe_due(100ms, later + 50ms));
  CHECK(other.probe_due(100ms, later + 100ms));
  OutageLog::reset_shared_state();
}

TEST_CASE("memcached outage log: slots are apart, and shared with forked children", "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog cache(0ms, OutageLog::kQueryCacheSlot);
  OutageLog session(0ms, OutageLog::kSessionStoreSlot);
  OutageLog server(0ms, OutageLog::session_server_slot(0));
  OutageLog cache_server(0ms, OutageLog::query_cache_server_slot(0));
  CHECK(cache.failed());
  CHECK(session.failed());
  CHECK(server.failed());
  CHECK(cache_server.failed());
  // Servers past the last slot of their range wrap within it, never onto
  // the stores' slots or the other range.
  CHECK(OutageLog::session_server_slot(OutageLog::kServerSlots) ==
        OutageLog::session_server_slot(0));
  CHECK(OutageLog::session_server_slot(OutageLog::kServerSlots - 1) <
        OutageLog::query_cache_server_slot(0));
  CHECK(OutageLog::query_cache_server_slot(OutageLog::kServerSlots - 1) < OutageLog::kSlots);
  OutageLog wrapped(0ms, OutageLog::session_server_slot(OutageLog::kServerSlots));
  CHECK(wrapped.succeeded());  // shares the slot of the server that failed
  CHECK(cache_server.down());
  CHECK(cache.succeeded());
  CHECK(session.succeeded());
  CHECK(cache_server.succeeded());

  OutageLog in_parent(0ms, OutageLog::kQueryCacheSlot);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(OutageLog(0ms, OutageLog::kQueryCacheSlot).failed() ? 0 : 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(in_parent.failed());  // the child has logged this outage
  CHECK(in_parent.succeeded());
  OutageLog::reset_shared_state();
}

TEST_CASE("memcached outage log: a call begun before the outage was seen does not end it",
          "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog log(0ms, OutageLog::session_server_slot(3));
  // Sent just before the server froze, answered, but finished after
  // another call had timed out: no sign that the server is back.
  const auto early = OutageLog::Clock::now();
  std::this_thread::sleep_for(2ms);
  CHECK(log.failed());
  CHECK_FALSE(log.succeeded(early));
  CHECK(log.down());
  CHECK(log.succeeded(OutageLog::Clock::now()));
  CHECK_FALSE(log.down());
  OutageLog::reset_shared_state();
}

TEST_CASE("memcached outage log: a call in flight when the server came back is no new outage",
          "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog log(0ms, OutageLog::session_server_slot(4));  // no grace: the date alone decides
  CHECK(log.failed());
  const auto in_flight = OutageLog::Clock::now();  // e.g. waiting for its timeout
  std::this_thread::sleep_for(2ms);
  CHECK(log.succeeded());
  CHECK_FALSE(log.failed(in_flight));
  CHECK_FALSE(log.down());
  CHECK(log.failed(OutageLog::Clock::now()));  // begun after: a new outage
  OutageLog::reset_shared_state();
}
