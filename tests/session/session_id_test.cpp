#include <catch2/catch.hpp>

#include <string>
#include <unordered_set>

#include "session/session_id.h"

using cppfpm::session::generate_session_id;
using cppfpm::session::is_valid_session_id;
using cppfpm::session::session_id_alphabet;
using cppfpm::session::Settings;

TEST_CASE("session_id: alphabets are PHP's", "[session]") {
  CHECK(session_id_alphabet(4) == "0123456789abcdef");
  CHECK(session_id_alphabet(5) == "0123456789abcdefghijklmnopqrstuv");
  CHECK(session_id_alphabet(6) ==
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-");
  CHECK(session_id_alphabet(3).empty());
  CHECK(session_id_alphabet(7).empty());
}

TEST_CASE("session_id: generated ids have the length and alphabet asked for", "[session]") {
  for (int bits : {4, 5, 6}) {
    const auto alphabet = session_id_alphabet(bits);
    for (int length : {1, 22, 26, 32, 48, 256}) {
      const std::string id = generate_session_id(length, bits);
      CAPTURE(bits, length, id);
      REQUIRE(id.size() == static_cast<std::size_t>(length));
      CHECK(id.find_first_not_of(alphabet) == std::string::npos);
    }
  }
}

TEST_CASE("session_id: every character of the alphabet shows up", "[session]") {
  for (int bits : {4, 5, 6}) {
    const auto alphabet = session_id_alphabet(bits);
    std::string seen;
    for (int i = 0; i < 200; ++i) seen += generate_session_id(64, bits);
    for (char c : alphabet) {
      CAPTURE(bits, c);
      CHECK(seen.find(c) != std::string::npos);
    }
  }
}

TEST_CASE("session_id: 10000 ids are all different", "[session]") {
  std::unordered_set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(generate_session_id(26, 5));
  CHECK(ids.size() == 10000);
}

TEST_CASE("session_id: bad parameters are refused", "[session]") {
  CHECK_THROWS_AS(generate_session_id(26, 3), std::invalid_argument);
  CHECK_THROWS_AS(generate_session_id(26, 7), std::invalid_argument);
  CHECK_THROWS_AS(generate_session_id(0, 5), std::invalid_argument);
  CHECK_THROWS_AS(generate_session_id(257, 5), std::invalid_argument);
}

TEST_CASE("session_id: validation accepts generated ids", "[session]") {
  Settings settings;
  for (int bits : {4, 5, 6}) {
    settings.sid_bits_per_character = bits;
    for (int length : {22, 26, 32}) {
      settings.sid_length = length;
      CHECK(is_valid_session_id(generate_session_id(length, bits), settings));
    }
  }
}

TEST_CASE("session_id: validation rejects hostile ids", "[session]") {
  Settings settings;  // 26 characters of 0-9a-v
  const std::string good = "0123456789abcdefghijklmnop";
  REQUIRE(is_valid_session_id(good, settings));

  CHECK_FALSE(is_valid_session_id("", settings));
  CHECK_FALSE(is_valid_session_id(good.substr(1), settings));  // too short
  CHECK_FALSE(is_valid_session_id(good + "a", settings));      // too long
  CHECK_FALSE(is_valid_session_id(std::string(5000, 'a'), settings));
  CHECK_FALSE(is_valid_session_id("0123456789abcdefghijklmno ", settings));
  CHECK_FALSE(is_valid_session_id(" 123456789abcdefghijklmnop", settings));
  CHECK_FALSE(is_valid_session_id("0123456789abcdefghijklm\r\np", settings));
  CHECK_FALSE(is_valid_session_id(std::string("0123456789abc\0efghijklmnop", 26), settings));
  CHECK_FALSE(is_valid_session_id("0123456789abcdefghijklmnoz", settings));  // z: not in 0-9a-v
  CHECK_FALSE(is_valid_session_id("0123456789ABCDEFGHIJKLMNOP", settings));  // upper case
  CHECK_FALSE(is_valid_session_id("0123456789abcdefghijklmn,-", settings));  // bits=6 only
  CHECK_FALSE(is_valid_session_id("../../../../etc/passwd0000", settings));
  CHECK_FALSE(is_valid_session_id("0123456789abcdefghijklmn\xc3\xa9", settings));
  CHECK_FALSE(is_valid_session_id("0123456789abcdefghijkl;a=b", settings));

  settings.sid_bits_per_character = 4;
  CHECK_FALSE(is_valid_session_id(good, settings));  // g..p are not hex
  settings.sid_bits_per_character = 6;
  CHECK(is_valid_session_id("0123456789abcdefghijklmn,-", settings));
  CHECK(is_valid_session_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ", settings));
  CHECK_FALSE(is_valid_session_id("ABCDEFGHIJKLMNOPQRSTUVWXY_", settings));
  settings.sid_bits_per_character = 9;
  CHECK_FALSE(is_valid_session_id(good, settings));
}
