#pragma once
// Session settings with PHP's names, meanings and defaults (php.ini [Session]).
#include <chrono>
#include <cstdint>
#include <string>

namespace cppfpm::session {

struct Settings {
  std::string name = "PHPSESSID";
  std::chrono::seconds gc_maxlifetime{1440};
  int sid_length = 26;              // PHP allows 22..256
  int sid_bits_per_character = 5;   // 4, 5 or 6
  bool use_strict_mode = false;
  std::int64_t cookie_lifetime = 0;  // seconds; 0 = until the browser closes
  std::string cookie_path = "/";
  std::string cookie_domain;
  bool cookie_secure = false;
  bool cookie_httponly = false;
  std::string cookie_samesite;
  bool lazy_write = true;
  std::string cache_limiter = "nocache";
  std::chrono::minutes cache_expire{180};  // max-age/Expires of the public and private limiters
};

}  // namespace cppfpm::session
