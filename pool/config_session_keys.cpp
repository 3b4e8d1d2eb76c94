// session.* settings with PHP's names and checks, however they are
// written: `session.X`, `php_value[session.X]`, `php_admin_flag[session.X]`.
#include <algorithm>
#include <map>

#include "pool/config_builder.h"
#include "pool/config_setters.h"
#include "server/text/strings.h"

namespace cppfpm::pool {

namespace {

using namespace setters;
using session::Settings;

// PHP refuses names that are empty, all digits, or that would break the
// Cookie header.
std::string set_name(Settings& settings, const std::string& value) {
  if (value.empty()) return "must not be empty";
  if (text::all_digits(value)) {
    return "must contain a letter";
  }
  if (value.find_first_of("=,; \t\r\n\v\f") != std::string::npos) {
    return "must not contain '=', ',', ';' or blanks";
  }
  settings.name = value;
  return {};
}

std::string set_samesite(Settings& settings, const std::string& value) {
  std::string word = text::lower(value);
  if (!word.empty() && word != "strict" && word != "lax" && word != "none") {
    return "is not a SameSite value; use Strict, Lax, None or nothing";
  }
  settings.cookie_samesite = value;
  return {};
}

std::string set_cache_limiter(Settings& settings, const std::string& value) {
  static constexpr std::string_view kLimiters[] = {"", "nocache", "private", "private_no_expire",
                                                   "public"};
  if (std::find(std::begin(kLimiters), std::end(kLimiters), value) == std::end(kLimiters)) {
    return "is not a cache limiter; use nocache, private, private_no_expire, public or nothing";
  }
  settings.cache_limiter = value;
  return {};
}

std::string set_serialize_handler(Settings& settings, const std::string& value) {
  if (value != "php" && value != "php_serialize") {
    return "is not supported; use php or php_serialize";
  }
  settings.serialize_handler = value;
  return {};
}

// The prefix becomes part of every memcached key, so it must not hold what
// ends a key in the text protocol, and must leave room for the id.
std::string set_key_prefix(Settings& settings, const std::string& value) {
  if (value.size() > 128) return "is longer than 128 bytes";
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return "must not contain blanks or control characters";
  }
  settings.key_prefix = value;
  return {};
}

std::string set_lock_key_style(Settings& settings, const std::string& value) {
  const std::string style = text::lower(value);
  if (style != "memcache" && style != "memcached") {
    return "is not a lock key style; use memcache (<id>.lock) or memcached (lock.<id>)";
  }
  settings.lock_key_style = style;
  return {};
}

std::string set_cache_expire(Settings& settings, const std::string& value) {
  long long minutes = 0;
  std::string why = store_integer(minutes, value, 0, 525600);
  if (why.empty()) settings.cache_expire = std::chrono::minutes(minutes);
  return why;
}

template <auto Field>
std::string positive_duration(Settings& settings, const std::string& value) {
  std::string why = duration<Field>(settings, value);
  if (why.empty() && (settings.*Field).count() <= 0) return "must be more than 0";
  return why;
}

const std::map<std::string, Setter<Settings>, std::less<>>& session_keys() {
  static const std::map<std::string, Setter<Settings>, std::less<>> keys = {
      {"name", set_name},
      {"gc_maxlifetime", duration<&Settings::gc_maxlifetime>},
      {"sid_length", integer<&Settings::sid_length, 22, 256>},
      {"sid_bits_per_character", integer<&Settings::sid_bits_per_character, 4, 6>},
      {"use_strict_mode", boolean<&Settings::use_strict_mode>},
      {"cookie_lifetime", seconds_count<&Settings::cookie_lifetime>},
      {"cookie_path", text<&Settings::cookie_path>},
      {"cookie_domain", text<&Settings::cookie_domain>},
      {"cookie_secure", boolean<&Settings::cookie_secure>},
      {"cookie_httponly", boolean<&Settings::cookie_httponly>},
      {"cookie_samesite", set_samesite},
      {"lazy_write", boolean<&Settings::lazy_write>},
      {"cache_limiter", set_cache_limiter},
      {"cache_expire", set_cache_expire},
      {"use_cookies", boolean<&Settings::use_cookies>},
      {"use_only_cookies", boolean<&Settings::use_only_cookies>},
      {"serialize_handler", set_serialize_handler},
      {"key_prefix", set_key_prefix},
      {"lock", boolean<&Settings::lock>},
      {"lock_key_style", set_lock_key_style},
      {"lock_expire", positive_duration<&Settings::lock_expire>},
      {"lock_wait", duration<&Settings::lock_wait>},
      {"lock_retries", integer<&Settings::lock_retries, 0, 1000000>},
      {"lock_waiters", integer<&Settings::lock_waiters, -1, 100000>},
      {"memcached_timeout", positive_duration<&Settings::memcached_timeout>},
      {"replicas", integer<&Settings::replicas, 0, 16>},
      {"compress_threshold", integer<&Settings::compress_threshold, 0, 1 << 30>},
  };
  return keys;
}

// pecl-memcache calls itself "memcache", php-memcached "memcached"; both
// mean the shared memcached store here.
std::string set_save_handler(PoolDraft& pool, const std::string& value, bool& files) {
  std::string handler = text::lower(value);
  files = handler == "files";
  if (handler == "memcache" || handler == "memcached") {
    pool.config.session_save_handler = "memcached";
  } else if (handler == "memory") {
    pool.config.session_save_handler = "memory";
  } else if (!files) {
    return "is not supported; use memcached or memory";
  }
  return {};
}

}  // namespace

std::vector<std::string_view> session_key_names() {
  std::vector<std::string_view> names = {"save_handler", "save_path"};
  for (const auto& [name, setter] : session_keys()) names.push_back(name);
  return names;
}

void apply_session_setting(PoolDraft& pool, std::string_view name, const std::string& written,
                           const std::string& value, const Location& where,
                           Diagnostics& diagnostics) {
  std::string why;
  if (name == "save_handler") {
    bool files = false;
    why = set_save_handler(pool, value, files);
    pool.files_handler_requested = files;
    // Written as a PHP ini setting, "memcached" names the php-memcached
    // extension (pecl-memcache is "memcache"); cppfpm's own key means the
    // store, in pecl-memcache's layout, as the seed uses it.
    pool.php_memcached_handler = written.rfind("php_", 0) == 0 && text::lower(value) == "memcached";
    if (files) {
      diagnostics.warning(where, pool.prefix() + written +
                                     " = files is not supported; keeping session.save_handler = " +
                                     pool.config.session_save_handler);
    }
  } else if (name == "save_path") {
    if (value.empty()) {
      why = "must not be empty";
    } else {
      pool.config.session_save_path = value;
    }
  } else if (auto found = session_keys().find(name); found != session_keys().end()) {
    why = found->second(pool.config.session, value);
  } else {
    diagnostics.warning(where, pool.prefix() + written + " is ignored: cppfpm does not support " +
                                   "session." + std::string(name));
    return;
  }
  if (!why.empty()) {
    diagnostics.error(where, pool.prefix() + written + " = \"" + value + "\" " + why);
    return;
  }
  pool.set_at["session." + std::string(name)] = where;
}

}  // namespace cppfpm::pool
