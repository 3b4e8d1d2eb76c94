#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "session/cookie.h"
#include "session/memory_store.h"
#include "session/session.h"
#include "session/session_id.h"

using cppfpm::session::find_cookie;
using cppfpm::session::is_valid_session_id;
using cppfpm::session::MemoryStore;
using cppfpm::session::PhpArray;
using cppfpm::session::Session;
using cppfpm::session::SessionStore;
using cppfpm::session::Settings;
using cppfpm::session::StoreResult;
using namespace std::chrono_literals;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A MemoryStore that records what it was asked to do.
class RecordingStore : public SessionStore {
 public:
  MemoryStore memory;
  std::vector<std::string> calls;  // "read id", "write id", ...
  std::chrono::seconds last_ttl{-99};

  StoreResult read(std::string_view key, std::string& out) override {
    calls.push_back("read " + std::string(key));
    return memory.read(key, out);
  }
  StoreResult write(std::string_view key, std::string_view value,
                    std::chrono::seconds ttl) override {
    calls.push_back("write " + std::string(key));
    last_ttl = ttl;
    return memory.write(key, value, ttl);
  }
  StoreResult touch(std::string_view key, std::chrono::seconds ttl) override {
    calls.push_back("touch " + std::string(key));
    last_ttl = ttl;
    return memory.touch(key, ttl);
  }
  StoreResult remove(std::string_view key) override {
    calls.push_back("remove " + std::string(key));
    return memory.remove(key);
  }
};

class DownStore : public SessionStore {
 public:
  StoreResult read(std::string_view, std::string&) override { return StoreResult::unavailable; }
  StoreResult write(std::string_view, std::string_view, std::chrono::seconds) override {
    return StoreResult::unavailable;
  }
  StoreResult touch(std::string_view, std::chrono::seconds) override {
    return StoreResult::unavailable;
  }
  StoreResult remove(std::string_view) override { return StoreResult::unavailable; }
};

std::string stored(RecordingStore& store, const std::string& id) {
  std::string out;
  return store.memory.read(id, out) == StoreResult::ok ? out : "<none>";
}

const Headers kNoCache = {{"Expires", "Thu, 19 Nov 1981 08:52:00 GMT"},
                          {"Cache-Control", "no-store, no-cache, must-revalidate"},
                          {"Pragma", "no-cache"}};

}  // namespace

TEST_CASE("session: a new visitor gets a fresh id and a Set-Cookie", "[session]") {
  RecordingStore store;
  Settings settings;
  Session session(store, settings);
  REQUIRE(session.start("") == StoreResult::ok);
  CHECK(is_valid_session_id(session.id(), settings));
  CHECK(session.cookie_needed());
  CHECK(session.vars().empty());

  Headers expected = {{"Set-Cookie", "PHPSESSID=" + session.id() + "; path=/"}};
  expected.insert(expected.end(), kNoCache.begin(), kNoCache.end());
  CHECK(session.headers(1700000000) == expected);

  session.vars().set("Itcys.top", 1795557203);
  REQUIRE(session.commit() == StoreResult::ok);
  CHECK(stored(store, session.id()) == "Itcys.top|i:1795557203;");
  CHECK(store.last_ttl == 1440s);
}

TEST_CASE("session: the cookie brings the same session back", "[session]") {
  RecordingStore store;
  Settings settings;
  std::string id;
  {
    Session first(store, settings);
    REQUIRE(first.start("other=1") == StoreResult::ok);
    id = first.id();
    first.vars().set("Itcys.top", 1795618362);
    PhpArray arr;
    arr.append(1);
    arr.set("a", 2.5);
    first.vars().set("arr", arr);
    REQUIRE(first.commit() == StoreResult::ok);
  }
  Session second(store, settings);
  REQUIRE(second.start("other=1; PHPSESSID=" + id) == StoreResult::ok);
  CHECK(second.id() == id);
  CHECK_FALSE(second.cookie_needed());
  CHECK(second.headers(0) == kNoCache);
  CHECK(*second.vars().find("Itcys.top")->as_int() == 1795618362);
  CHECK(*second.vars().find("arr")->as_array()->find("a")->as_double() == 2.5);
}

TEST_CASE("session: a hostile cookie gets a fresh id and never reaches the store", "[session]") {
  Settings settings;
  for (const std::string& bad : std::vector<std::string>{
           std::string("abc"), std::string(5000, 'a'), std::string("0123456789abcdefghijklmno "),
           std::string("0123456789abcdefghijklm%0d%0ap"),
           std::string("0123456789abcdefghijklmn%00"), std::string("0123456789ABCDEFGHIJKLMNOP"),
           std::string("../../../etc/passwd00000000"),
           std::string("\"0123456789abcdefghijklmnop\""),
           std::string("0123456789abcdefghijklm+op")}) {
    CAPTURE(bad);
    RecordingStore store;
    Session session(store, settings);
    REQUIRE(session.start("PHPSESSID=" + bad) == StoreResult::ok);
    CHECK(session.id() != *find_cookie("PHPSESSID=" + bad, "PHPSESSID"));
    CHECK(is_valid_session_id(session.id(), settings));
    CHECK(session.cookie_needed());
    session.vars().set("k", 1);
    REQUIRE(session.commit() == StoreResult::ok);
    for (const std::string& call : store.calls) {
      CHECK(call.find(session.id()) != std::string::npos);  // only the fresh id was used
    }
    CHECK(store.memory.size() == 1);
  }
}

TEST_CASE("session: an empty cookie value starts a new session", "[session]") {
  RecordingStore store;
  Settings settings;
  Session session(store, settings);
  REQUIRE(session.start("PHPSESSID=") == StoreResult::ok);
  CHECK(session.cookie_needed());
  CHECK(is_valid_session_id(session.id(), settings));
}

TEST_CASE("session: strict mode refuses ids the store does not know", "[session]") {
  RecordingStore store;
  Settings settings;
  settings.use_strict_mode = true;
  const std::string planted = "0123456789abcdefghijklmnop";

  Session session(store, settings);
  REQUIRE(session.start("PHPSESSID=" + planted) == StoreResult::ok);
  CHECK(session.id() != planted);
  CHECK(session.cookie_needed());
  session.vars().set("k", 1);
  REQUIRE(session.commit() == StoreResult::ok);
  CHECK(stored(store, planted) == "<none>");

  // A known id is kept.
  Session again(store, settings);
  REQUIRE(again.start("PHPSESSID=" + session.id()) == StoreResult::ok);
  CHECK(again.id() == session.id());
  CHECK_FALSE(again.cookie_needed());

  // Without strict mode the planted id is adopted, as PHP does.
  settings.use_strict_mode = false;
  Session lax(store, settings);
  REQUIRE(lax.start("PHPSESSID=" + planted) == StoreResult::ok);
  CHECK(lax.id() == planted);
  CHECK_FALSE(lax.cookie_needed());
}

TEST_CASE("session: lazy_write only touches an unchanged session", "[session]") {
  RecordingStore store;
  Settings settings;
  Session first(store, settings);
  REQUIRE(first.start("") == StoreResult::ok);
  const std::string id = first.id();
  first.vars().set("n", 1);
  REQUIRE(first.commit() == StoreResult::ok);

  store.calls.clear();
  Session unchanged(store, settings);
  REQUIRE(unchanged.start("PHPSESSID=" + id) == StoreResult::ok);
  REQUIRE(unchanged.commit() == StoreResult::ok);
  CHECK(store.calls == std::vector<std::string>{"read " + id, "touch " + id});
  CHECK(store.last_ttl == 1440s);

  store.calls.clear();
  Session changed(store, settings);
  REQUIRE(changed.start("PHPSESSID=" + id) == StoreResult::ok);
  changed.vars().set("n", 2);
  REQUIRE(changed.commit() == StoreResult::ok);
  CHECK(store.calls == std::vector<std::string>{"read " + id, "write " + id});
  CHECK(stored(store, id) == "n|i:2;");

  settings.lazy_write = false;
  store.calls.clear();
  Session eager(store, settings);
  REQUIRE(eager.start("PHPSESSID=" + id) == StoreResult::ok);
  REQUIRE(eager.commit() == StoreResult::ok);
  CHECK(store.calls == std::vector<std::string>{"read " + id, "write " + id});
}

TEST_CASE("session: an unchanged session that expired meanwhile is written again", "[session]") {
  RecordingStore store;
  Settings settings;
  Session first(store, settings);
  REQUIRE(first.start("") == StoreResult::ok);
  first.vars().set("n", 1);
  REQUIRE(first.commit() == StoreResult::ok);

  Session second(store, settings);
  REQUIRE(second.start("PHPSESSID=" + first.id()) == StoreResult::ok);
  store.memory.remove(first.id());
  REQUIRE(second.commit() == StoreResult::ok);
  CHECK(stored(store, first.id()) == "n|i:1;");
}

TEST_CASE("session: an empty session is written as an empty string", "[session]") {
  RecordingStore store;
  Settings settings;
  Session session(store, settings);
  REQUIRE(session.start("") == StoreResult::ok);
  REQUIRE(session.commit() == StoreResult::ok);
  CHECK(stored(store, session.id()).empty());

  Session again(store, settings);
  REQUIRE(again.start("PHPSESSID=" + session.id()) == StoreResult::ok);
  again.vars().set("x", "y");
  again.vars().erase("x");
  store.calls.clear();
  REQUIRE(again.commit() == StoreResult::ok);
  CHECK(store.calls == std::vector<std::string>{"write " + session.id()});
}

TEST_CASE("session: an undecodable stored value is kept unless replaced", "[session]") {
  RecordingStore store;
  Settings settings;
  const std::string id = "0123456789abcdefghijklmnop";
  store.memory.write(id, "garbage without a bar", 60s);

  Session reader(store, settings);
  REQUIRE(reader.start("PHPSESSID=" + id) == StoreResult::ok);
  CHECK(reader.id() == id);
  CHECK(reader.vars().empty());
  REQUIRE(reader.commit() == StoreResult::ok);
  CHECK(stored(store, id) == "garbage without a bar");

  Session writer(store, settings);
  REQUIRE(writer.start("PHPSESSID=" + id) == StoreResult::ok);
  writer.vars().set("fresh", true);
  REQUIRE(writer.commit() == StoreResult::ok);
  CHECK(stored(store, id) == "fresh|b:1;");
}

TEST_CASE("session: an unreachable store is reported", "[session]") {
  DownStore store;
  Settings settings;
  SECTION("a session named by the cookie: at start, before the page runs") {
    Session session(store, settings);
    CHECK(session.start("PHPSESSID=0123456789abcdefghijklmnop") == StoreResult::unavailable);
    CHECK_FALSE(session.started());
    CHECK(session.headers(0).empty());
    CHECK(session.commit() == StoreResult::unavailable);
  }
  SECTION("a new session needs the store only to save it: the save is reported") {
    Session session(store, settings);
    CHECK(session.start("") == StoreResult::ok);
    CHECK(session.commit() == StoreResult::unavailable);
  }
}

TEST_CASE("session: a new id is not read, only written", "[session]") {
  RecordingStore store;
  Settings settings;
  Session session(store, settings);
  REQUIRE(session.start("") == StoreResult::ok);
  session.vars().set("n", cppfpm::session::PhpValue(std::int64_t{1}));
  REQUIRE(session.commit() == StoreResult::ok);
  CHECK(store.calls == std::vector<std::string>{"write " + session.id()});
  CHECK(stored(store, session.id()) == "n|i:1;");
}

TEST_CASE("session: cache limiters send PHP's headers", "[session]") {
  MemoryStore store;
  Settings settings;
  const std::string id = "0123456789abcdefghijklmnop";
  store.write(id, "", 60s);
  auto headers_for = [&](const std::string& limiter) {
    settings.cache_limiter = limiter;
    Session session(store, settings);
    REQUIRE(session.start("PHPSESSID=" + id) == StoreResult::ok);
    return session.headers(0);
  };
  CHECK(headers_for("nocache") == kNoCache);
  CHECK(headers_for("NoCache") == kNoCache);
  CHECK(headers_for("private") == Headers{{"Expires", "Thu, 19 Nov 1981 08:52:00 GMT"},
                                          {"Cache-Control", "private, max-age=10800"}});
  CHECK(headers_for("private_no_expire") == Headers{{"Cache-Control", "private, max-age=10800"}});
  CHECK(headers_for("public") == Headers{{"Expires", "Thu, 01 Jan 1970 03:00:00 GMT"},
                                         {"Cache-Control", "public, max-age=10800"}});
  CHECK(headers_for("").empty());
  CHECK(headers_for("none").empty());
  CHECK(headers_for("bogus").empty());
  settings.cache_expire = 1min;
  CHECK(headers_for("public") == Headers{{"Expires", "Thu, 01 Jan 1970 00:01:00 GMT"},
                                         {"Cache-Control", "public, max-age=60"}});
}

TEST_CASE("session: other id settings are honoured", "[session]") {
  MemoryStore store;
  Settings settings;
  settings.name = "SID";
  settings.sid_length = 48;
  settings.sid_bits_per_character = 6;
  Session session(store, settings);
  REQUIRE(session.start("PHPSESSID=0123456789abcdefghijklmnop") == StoreResult::ok);
  CHECK(session.id().size() == 48);
  CHECK(session.cookie_needed());
  REQUIRE(session.commit() == StoreResult::ok);

  // Ids with ',' travel url-encoded and come back decoded.
  const std::string cookie = session.headers(0).front().second;
  const std::string sent = cookie.substr(0, cookie.find(';'));
  Session again(store, settings);
  REQUIRE(again.start(sent) == StoreResult::ok);
  CHECK(again.id() == session.id());
  CHECK_FALSE(again.cookie_needed());
}

TEST_CASE("session: bad id settings fail the start without throwing", "[session]") {
  MemoryStore store;
  Settings settings;
  settings.sid_bits_per_character = 9;
  Session session(store, settings);
  CHECK(session.start("") == StoreResult::unavailable);
}
