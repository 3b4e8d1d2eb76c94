// The rest of the memcached plumbing without a server: handles, the
// per-thread holder across fork(), what return codes mean, server names,
// timeouts.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "server/memcached/handle.h"
#include "server/memcached/per_thread.h"
#include "server/memcached/reply.h"
#include "server/memcached/servers.h"
#include "server/memcached/timeouts.h"

using namespace cppfpm::memcached;
using namespace std::chrono_literals;

namespace {

struct Counted {
  explicit Counted(int serial, bool works) : serial(serial), works(works) {}
  bool ok() const { return works; }
  int serial;
  bool works;
};

}  // namespace

TEST_CASE("memcached handle: made without dialling, moved, empty when moved from", "[memcached]") {
  Handle handle = make_memcached_handle({{"127.0.0.1", 1, false}}, Timeouts{}, "test");
  REQUIRE(handle.ok());
  memcached_st* raw = handle.get();
  Handle moved = std::move(handle);
  CHECK(moved.get() == raw);
  CHECK_FALSE(handle.ok());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  Handle assigned;
  assigned = std::move(moved);
  CHECK(assigned.get() == raw);
  CHECK_FALSE(Handle().ok());
}

TEST_CASE("memcached per-thread: made once per thread, again after a failed setup", "[memcached]") {
  int made = 0;
  bool works = false;
  PerThread<Counted> holder([&] { return std::make_unique<Counted>(++made, works); });
  CHECK(holder.local() == nullptr);
  CHECK(holder.local() == nullptr);
  CHECK(made == 2);
  works = true;
  Counted* first = holder.local();
  REQUIRE(first != nullptr);
  CHECK(holder.local() == first);
  CHECK(made == 3);
}

TEST_CASE("memcached per-thread: a child process makes its own", "[memcached]") {
  int made = 0;
  PerThread<Counted> holder([&] { return std::make_unique<Counted>(++made, true); });
  REQUIRE(holder.local()->serial == 1);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The parent's object is inherited; the child must get a new one.
    const int serial = holder.local()->serial;
    ::_exit(serial == 2 && holder.local()->serial == 2 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(holder.local()->serial == 1);  // the parent keeps its own
}

TEST_CASE("memcached reply: answered, refused, unreachable", "[memcached]") {
  for (memcached_return_t rc : {MEMCACHED_SUCCESS, MEMCACHED_NOTFOUND, MEMCACHED_NOTSTORED,
                                MEMCACHED_DATA_EXISTS, MEMCACHED_STORED, MEMCACHED_DELETED}) {
    CAPTURE(rc);
    CHECK(classify_reply(rc) == Reply::answered);
  }
  for (memcached_return_t rc :
       {MEMCACHED_E2BIG, MEMCACHED_CLIENT_ERROR, MEMCACHED_SERVER_ERROR,
        MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE, MEMCACHED_BAD_KEY_PROVIDED}) {
    CAPTURE(rc);
    CHECK(classify_reply(rc) == Reply::refused);
  }
  for (memcached_return_t rc :
       {MEMCACHED_CONNECTION_FAILURE, MEMCACHED_TIMEOUT, MEMCACHED_SERVER_MARKED_DEAD,
        MEMCACHED_ERRNO, MEMCACHED_UNKNOWN_READ_FAILURE}) {
    CAPTURE(rc);
    CHECK(classify_reply(rc) == Reply::unreachable);
  }
}

TEST_CASE("memcached reply: skipped servers and lost connections", "[memcached]") {
  CHECK(skipped_server(MEMCACHED_SERVER_TEMPORARILY_DISABLED));
  CHECK(skipped_server(MEMCACHED_SERVER_MARKED_DEAD));
  CHECK_FALSE(skipped_server(MEMCACHED_TIMEOUT));
  CHECK_FALSE(skipped_server(MEMCACHED_CONNECTION_FAILURE));
  for (memcached_return_t rc :
       {MEMCACHED_CONNECTION_FAILURE, MEMCACHED_WRITE_FAILURE, MEMCACHED_READ_FAILURE,
        MEMCACHED_UNKNOWN_READ_FAILURE, MEMCACHED_ERRNO}) {
    CAPTURE(rc);
    CHECK(connection_lost(rc));
  }
  for (memcached_return_t rc : {MEMCACHED_SUCCESS, MEMCACHED_NOTFOUND, MEMCACHED_TIMEOUT,
                                MEMCACHED_SERVER_TEMPORARILY_DISABLED, MEMCACHED_E2BIG}) {
    CAPTURE(rc);
    CHECK_FALSE(connection_lost(rc));
  }
}

TEST_CASE("memcached reply: a lost connection is tried once more, nothing else is", "[memcached]") {
  auto calls_for = [](std::vector<memcached_return_t> answers, memcached_return_t& rc) {
    std::size_t calls = 0;
    rc = call_with_retry([&] { return answers.at(calls++); });
    return calls;
  };
  memcached_return_t rc = MEMCACHED_SUCCESS;
  CHECK(calls_for({MEMCACHED_NOTFOUND}, rc) == 1);
  CHECK(rc == MEMCACHED_NOTFOUND);
  CHECK(calls_for({MEMCACHED_TIMEOUT}, rc) == 1);  // silent: no second wait
  CHECK(rc == MEMCACHED_TIMEOUT);
  CHECK(calls_for({MEMCACHED_UNKNOWN_READ_FAILURE, MEMCACHED_SUCCESS}, rc) == 2);
  CHECK(rc == MEMCACHED_SUCCESS);
  CHECK(calls_for({MEMCACHED_CONNECTION_FAILURE, MEMCACHED_ERRNO}, rc) == 2);  // once only
  CHECK(rc == MEMCACHED_ERRNO);
  // The retry's connect failed and put the server in its retry timeout: the
  // first answer is the one that went to the server.
  CHECK(calls_for({MEMCACHED_ERRNO, MEMCACHED_SERVER_TEMPORARILY_DISABLED}, rc) == 2);
  CHECK(rc == MEMCACHED_ERRNO);
}

TEST_CASE("memcached servers: names as the log lines write them", "[memcached]") {
  CHECK(server_name({"127.0.0.1", 11211, false}) == "127.0.0.1:11211");
  CHECK(server_name({"/run/memcached.sock", 0, true}) == "unix:///run/memcached.sock");
  CHECK(server_names(parse_save_path("tcp://h1:1, unix:///s")) == "h1:1, unix:///s");
}

TEST_CASE("memcached timeouts: the defaults, and the grace after an outage", "[memcached]") {
  CHECK(Timeouts{}.call == 1000ms);
  CHECK(Timeouts{}.retry == 2s);
  CHECK(kDefaultQueryCacheTimeout == 500ms);
  CHECK(Timeouts{}.outage_grace() == 4000ms);
  CHECK(Timeouts{.call = 500ms}.outage_grace() == 3000ms);
}
