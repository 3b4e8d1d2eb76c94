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

TEST_CASE("memcached outage log: slots are apart, and shared with forked children", "[memcached]") {
  OutageLog::reset_shared_state();
  OutageLog cache(0ms, OutageLog::kQueryCacheSlot);
  OutageLog session(0ms, OutageLog::kSessionStoreSlot);
  OutageLog server(0ms, OutageLog::kFirstSessionServerSlot);
  CHECK(cache.failed());
  CHECK(session.failed());
  CHECK(server.failed());
  // Session servers past the last slot wrap among the server slots, never
  // onto the store's or the query cache's.
  OutageLog wrapped(0ms, OutageLog::kSlots);
  CHECK(wrapped.succeeded());  // shares the slot of the server that failed
  CHECK(cache.succeeded());
  CHECK(session.succeeded());

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
