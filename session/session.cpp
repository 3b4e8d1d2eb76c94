#include "session/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <exception>

#include "session/cookie.h"
#include "session/php_serialize.h"
#include "session/session_id.h"

namespace cppfpm::session {
namespace {

// PHP's fixed date for "already expired" (the birthday of session.c's author).
constexpr const char* kExpiredDate = "Thu, 19 Nov 1981 08:52:00 GMT";

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

Session::Session(SessionStore& store, const Settings& settings)
    : store_(store), settings_(settings) {}

void Session::use_fresh_id() {
  id_ = generate_session_id(settings_.sid_length, settings_.sid_bits_per_character);
  cookie_needed_ = true;
}

void Session::decode_stored(const std::string& data) {
  auto decoded = decode_session(data, Format::php);
  if (!decoded) {
    undecodable_ = true;
    spdlog::warn(
        "session {}: the stored value ({} bytes) is not in PHP's \"php\" serialize format; "
        "starting with an empty $_SESSION and keeping the stored value unless it is replaced",
        id_, data.size());
    return;
  }
  vars_ = std::move(*decoded);
}

StoreResult Session::start(std::string_view cookie_header) {
  started_ = false;
  cookie_needed_ = false;
  undecodable_ = false;
  stored_.reset();
  vars_.clear();
  id_.clear();
  try {
    const auto cookie = find_cookie(cookie_header, settings_.name);
    bool from_cookie = false;
    if (cookie && !cookie->empty()) {
      if (is_valid_session_id(*cookie, settings_)) {
        id_ = *cookie;
        from_cookie = true;
      } else {
        // The value is the client's: log its size, never its bytes.
        spdlog::warn(
            "session: rejected an invalid id in the {} cookie ({} bytes; expected {} characters "
            "for session.sid_bits_per_character={}), starting a new session",
            settings_.name, cookie->size(), settings_.sid_length, settings_.sid_bits_per_character);
        use_fresh_id();
      }
    } else {
      use_fresh_id();
    }

    std::string data;
    const StoreResult read = store_.read(id_, data);
    if (read == StoreResult::unavailable) {
      spdlog::error("session {}: the session store is unavailable (session.save_path)", id_);
      return StoreResult::unavailable;
    }
    if (read == StoreResult::not_found) {
      if (from_cookie && settings_.use_strict_mode) {
        // session.use_strict_mode: never adopt an id the server did not make.
        spdlog::info("session: unknown id from the {} cookie under use_strict_mode, new id issued",
                     settings_.name);
        use_fresh_id();
      }
      stored_ = std::string();  // pecl-memcache reads a missing session as ""
    } else {
      stored_ = data;
      decode_stored(data);
    }
  } catch (const std::exception& e) {
    spdlog::error("session: cannot start a session: {}", e.what());
    id_.clear();
    return StoreResult::unavailable;
  }
  started_ = true;
  return StoreResult::ok;
}

std::vector<std::pair<std::string, std::string>> Session::headers(std::int64_t now_unix) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!started_) return out;
  if (cookie_needed_) out.emplace_back("Set-Cookie", make_set_cookie(id_, settings_, now_unix));

  // php-src session.c CACHE_LIMITER_FUNC(...)
  const std::string limiter = lower(settings_.cache_limiter);
  const std::string max_age = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(settings_.cache_expire).count());
  if (limiter == "nocache") {
    out.emplace_back("Expires", kExpiredDate);
    out.emplace_back("Cache-Control", "no-store, no-cache, must-revalidate");
    out.emplace_back("Pragma", "no-cache");
  } else if (limiter == "private") {
    out.emplace_back("Expires", kExpiredDate);
    out.emplace_back("Cache-Control", "private, max-age=" + max_age);
  } else if (limiter == "private_no_expire") {
    out.emplace_back("Cache-Control", "private, max-age=" + max_age);
  } else if (limiter == "public") {
    const auto expire = std::chrono::duration_cast<std::chrono::seconds>(settings_.cache_expire);
    out.emplace_back("Expires", format_http_date(now_unix + expire.count()));
    out.emplace_back("Cache-Control", "public, max-age=" + max_age);
  }
  return out;
}

StoreResult Session::commit() {
  if (!started_) return StoreResult::unavailable;
  for (const auto& entry : vars_) {
    if (!is_encodable_session_name(entry.key, Format::php)) {
      spdlog::warn(
          "session {}: $_SESSION key {} cannot be stored in the php format (an integer key or a "
          "name with '|'), skipped",
          id_,
          std::holds_alternative<std::string>(entry.key)
              ? "'" + std::get<std::string>(entry.key) + "'"
              : std::to_string(std::get<std::int64_t>(entry.key)));
    }
  }
  const std::string encoded = encode_session(vars_, Format::php);
  const std::chrono::seconds ttl = settings_.gc_maxlifetime;

  // Nothing new to say about a value we could not read: leave it be.
  if (undecodable_ && encoded.empty()) return StoreResult::ok;

  if (settings_.lazy_write && !encoded.empty() && stored_ && *stored_ == encoded) {
    const StoreResult touched = store_.touch(id_, ttl);
    if (touched != StoreResult::not_found) return touched;
    // Expired between start() and now: store it again.
  }
  const StoreResult written = store_.write(id_, encoded, ttl);
  if (written == StoreResult::ok) {
    stored_ = encoded;
    undecodable_ = false;
  } else {
    spdlog::error("session {}: failed to write session data (session.save_path)", id_);
  }
  return written;
}

}  // namespace cppfpm::session
