// Cache keys: stable, different for different queries, always legal
// memcached keys; SHA-256 checked against FIPS 180-2's examples.
#include <catch2/catch.hpp>

#include <set>

#include "sql/cache_key.h"

using namespace cppfpm::sql;

namespace {

bool legal_memcached_key(const std::string& key) {
  if (key.empty() || key.size() > 250) return false;
  for (unsigned char c : key)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

TEST_CASE("sha256: the FIPS 180-2 example digests") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: every length around the padding boundaries") {
  std::set<std::string> digests;
  for (std::size_t n = 50; n < 140; ++n) digests.insert(sha256_hex(std::string(n, 'x')));
  CHECK(digests.size() == 90);
  // 55 bytes fit one block with the length, 56 need two.
  CHECK(sha256_hex(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(sha256_hex(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

TEST_CASE("cache key: normalising whitespace outside quotes only") {
  CHECK(normalise_sql("  SELECT  a,\n\tb FROM t WHERE id = :id ;  ") ==
        "SELECT a, b FROM t WHERE id = :id");
  CHECK(normalise_sql("SELECT 'a  b' FROM t") == "SELECT 'a  b' FROM t");
  CHECK(normalise_sql("SELECT \"x\\\"  y\"  ,  `c  d`") == "SELECT \"x\\\"  y\" , `c  d`");
  CHECK(normalise_sql("SELECT 'it''s   ok'") == "SELECT 'it''s   ok'");
  CHECK(normalise_sql("") == "");
}

TEST_CASE("cache key: stable, and the same for the same statement written differently") {
  Params p{std::int64_t{7}};
  auto a = query_key("SELECT name FROM t WHERE id = :id", p, {});
  CHECK(a == query_key("SELECT name FROM t WHERE id = :id", p, {}));
  CHECK(a == query_key("SELECT  name\nFROM t\n WHERE id = :id;", p, {}));
  CHECK(a.starts_with(kQueryKeyPrefix));
  CHECK(a.size() == kQueryKeyPrefix.size() + 64);
}

TEST_CASE("cache key: different statements, values, types or tags give different keys") {
  std::set<std::string> keys;
  const std::string sql = "SELECT * FROM t WHERE a = :a AND b = :b";
  keys.insert(query_key(sql, {std::int64_t{1}, std::int64_t{2}}, {}));
  keys.insert(query_key(sql, {std::int64_t{2}, std::int64_t{1}}, {}));
  keys.insert(query_key(sql, {std::string("1"), std::int64_t{2}}, {}));  // type matters
  keys.insert(query_key(sql, {1.0, std::int64_t{2}}, {}));
  keys.insert(query_key(sql, {nullptr, std::int64_t{2}}, {}));
  keys.insert(query_key(sql, {std::string(""), std::int64_t{2}}, {}));
  keys.insert(
      query_key(sql, {std::string("ab"), std::string("c")}, {}));  // no ambiguous concatenation
  keys.insert(query_key(sql, {std::string("a"), std::string("bc")}, {}));
  keys.insert(query_key(sql, {std::string("a'b"), std::string("c")}, {}));
  keys.insert(query_key("SELECT * FROM t WHERE a = 'a  b'", {}, {}));  // quoted whitespace is kept
  keys.insert(query_key("SELECT * FROM t WHERE a = 'a b'", {}, {}));
  keys.insert(query_key(sql, {std::int64_t{1}, std::int64_t{2}}, {{"items", "1"}}));
  keys.insert(query_key(sql, {std::int64_t{1}, std::int64_t{2}}, {{"items", "2"}}));
  keys.insert(query_key(sql, {std::int64_t{1}, std::int64_t{2}}, {{"users", "1"}}));
  keys.insert(query_key(sql, {std::int64_t{1}, std::int64_t{2}}, {{"items", "1"}, {"users", "1"}}));
  CHECK(keys.size() == 15);
}

TEST_CASE("cache key: hostile SQL, values and tags still give legal memcached keys") {
  std::string huge(100000, 'x');
  std::string control = "a\r\nset evil 0 0 1\r\nX\r\n";
  control += '\0';
  for (const auto& key :
       {query_key(huge, {huge}, {{huge, huge}}),
        query_key(control, {control}, {{control, control}}), query_key("", {}, {}), tag_key(huge),
        tag_key(control), tag_key("items"), tag_key(""), lock_key(query_key(control, {}, {}))}) {
    INFO(key);
    CHECK(legal_memcached_key(key));
  }
  CHECK(tag_key("items") == "cppfpm:qt:items");
  CHECK(tag_key("user.profile-2") == "cppfpm:qt:user.profile-2");
  CHECK(tag_key("a b") != tag_key("a_b"));
  CHECK(tag_key("a b").starts_with("cppfpm:qt:#"));
}
