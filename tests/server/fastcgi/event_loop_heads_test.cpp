// The slow-client rules of the event loop (first-byte timeout, head timeout,
// pm.max_pending_heads) and its counted log lines, with a fake clock.
#include <catch2/catch.hpp>

#include <chrono>

#include "server/fastcgi/event_loop_heads.h"

using namespace std::chrono_literals;
using cppfpm::server::CountedLog;
using cppfpm::server::HeadRules;
using cppfpm::server::HeadWatch;
using Expiry = HeadWatch::Expiry;

namespace {

const HeadWatch::Time t0{};
int a, b, c, d;  // connections: only their addresses are used

}  // namespace

TEST_CASE("HeadWatch: a fresh connection that sends nothing expires at the first-byte timeout") {
  HeadWatch watch(HeadRules{.first_byte_timeout = 500ms, .head_timeout = 2000ms});
  watch.accepted(&a, t0);
  CHECK(watch.next_deadline(t0) == 500ms);
  CHECK(watch.expired(t0 + 499ms).empty());
  auto due = watch.expired(t0 + 500ms);
  REQUIRE(due.size() == 1);
  CHECK(due[0].key == &a);
  CHECK(due[0].why == Expiry::first_byte);
  watch.done(&a);
  CHECK(watch.watched() == 0);
  CHECK(!watch.next_deadline(t0));
}

TEST_CASE("HeadWatch: first bytes replace the first-byte timeout by the head timeout, once") {
  HeadWatch watch(HeadRules{.first_byte_timeout = 500ms, .head_timeout = 2000ms});
  watch.accepted(&a, t0);
  watch.partial(&a, true, t0 + 100ms);
  watch.partial(&a, true, t0 + 1900ms);  // more bytes do not extend it
  CHECK(watch.expired(t0 + 600ms).empty());
  CHECK(watch.expired(t0 + 2099ms).empty());
  auto due = watch.expired(t0 + 2100ms);
  REQUIRE(due.size() == 1);
  CHECK(due[0].why == Expiry::head);
}

TEST_CASE("HeadWatch: a kept connection waits as long as nginx keeps it, until a head begins") {
  HeadWatch watch(HeadRules{.first_byte_timeout = 500ms, .head_timeout = 2000ms, .max_pending = 1});
  // Served a request already: never accepted() again, so no first-byte timeout.
  CHECK(watch.expired(t0 + 1h).empty());
  watch.partial(&a, false, t0);
  watch.accepted(&b, t0);
  CHECK(watch.pending() == 1);  // the kept one is not counted by the cap
  CHECK(watch.over_cap().empty());
  auto due = watch.expired(t0 + 2000ms);
  REQUIRE(due.size() == 2);
  CHECK(due[0].key == &b);  // 500 ms, first byte
  CHECK(due[1].key == &a);
  CHECK(due[1].why == Expiry::head);
}

TEST_CASE("HeadWatch: over pm.max_pending_heads the oldest fresh connections go first") {
  HeadWatch watch(HeadRules{.first_byte_timeout = 0ms, .max_pending = 2});
  watch.accepted(&a, t0);
  watch.accepted(&b, t0);
  CHECK(watch.over_cap().empty());
  watch.partial(&a, true, t0 + 1ms);  // a trickling head still counts
  watch.accepted(&c, t0 + 2ms);
  watch.accepted(&d, t0 + 3ms);
  auto oldest = watch.over_cap();
  REQUIRE(oldest.size() == 2);
  CHECK(oldest[0] == &a);
  CHECK(oldest[1] == &b);
  watch.done(&a);
  watch.done(&b);
  CHECK(watch.over_cap().empty());
  // No first-byte timeout: only the started head has a deadline.
  CHECK(!watch.next_deadline(t0));
}

TEST_CASE("HeadWatch: no cap when pm.max_pending_heads is 0") {
  HeadWatch watch(HeadRules{.max_pending = 0});
  watch.accepted(&a, t0);
  watch.accepted(&b, t0);
  CHECK(watch.over_cap().empty());
}

TEST_CASE("CountedLog: the first event at once, the others summed up once per interval") {
  CountedLog log(10s);
  CHECK(log.event(1, "one", t0) == std::vector<std::string>{"one"});
  CHECK(log.event(2, "other kind", t0).size() == 1);
  for (int i = 0; i < 7900; ++i) CHECK(log.event(1, "again", t0 + 1s).empty());
  CHECK(log.flush(t0 + 9s).empty());
  auto lines = log.flush(t0 + 10s);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "again (and 7,900 more like it in the last 10 s)");
  // A new interval starts with the next event.
  CHECK(log.event(1, "later", t0 + 30s) == std::vector<std::string>{"later"});
  CHECK(log.event(1, "last", t0 + 41s) == std::vector<std::string>{"last"});
}

TEST_CASE("with_thousands") {
  CHECK(cppfpm::server::with_thousands(0) == "0");
  CHECK(cppfpm::server::with_thousands(999) == "999");
  CHECK(cppfpm::server::with_thousands(1000) == "1,000");
  CHECK(cppfpm::server::with_thousands(1234567) == "1,234,567");
}

TEST_CASE("HeadWatch: oldest(n) lists the cap's connections in accept order") {
  HeadWatch watch(HeadRules{.max_pending = 10});
  watch.accepted(&c, t0);
  watch.accepted(&a, t0);
  watch.partial(&b, false, t0);  // kept: not counted
  watch.accepted(&d, t0);
  CHECK(watch.oldest(2) == std::vector<HeadWatch::Key>{&c, &a});
  CHECK(watch.oldest(9).size() == 3);
}
