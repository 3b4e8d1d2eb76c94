#include "session/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "server/text/query_string.h"
#include "server/text/strings.h"
#include "session/cookie.h"
#include "session/php_serialize.h"
#include "session/session_id.h"

namespace cppfpm::session {
namespace {

// PHP's fixed date for "already expired" (the birthday of session.c's author).
constexpr const char* kExpiredDate = "Thu, 19 Nov 1981 08:52:00 GMT";

constexpr std::chrono::milliseconds kMaxLockPause{200};

// Client-caused warnings (bad ids, stuck locks) at most once per
// kLogEvery per process, saying how many were left out.
constexpr std::int64_t kLogEveryMs = 10000;

class RateLimit {
 public:
  // True when this event may be logged; `suppressed` is how many were not
  // since the last logged one.
  bool allow(std::int64_t& suppressed) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = last_ms_.load();
    if (last != 0 && now - last < kLogEveryMs) {
      ++suppressed_;
      return false;
    }
    if (!last_ms_.compare_exchange_strong(last, now)) {
      ++suppressed_;
      return false;
    }
    suppressed = suppressed_.exchange(0);
    return true;
  }

 private:
  std::atomic<std::int64_t> last_ms_{0};
  std::atomic<std::int64_t> suppressed_{0};
};

RateLimit g_invalid_id_log;
RateLimit g_lock_log;

std::string suppressed_note(std::int64_t suppressed) {
  return suppressed > 0 ? " (" + std::to_string(suppressed) + " more since the last report)" : "";
}

}  // namespace

Session::Session(SessionStore& store, const Settings& settings)
    : store_(store), settings_(settings) {}

Session::~Session() {
  try {
    release_lock();
  } catch (const std::exception& e) {
    spdlog::error("session {}: releasing the lock failed: {}", id_, e.what());
  }
}

Format Session::format() const {
  return settings_.serialize_handler == "php_serialize" ? Format::php_serialize : Format::php;
}

std::optional<std::string> Session::id_from_request(std::string_view cookie_header,
                                                    std::string_view query_string) const {
  if (settings_.use_cookies) {
    auto cookie = find_cookie(cookie_header, settings_.name);
    if (cookie && !cookie->empty()) return cookie;
  }
  if (!settings_.use_only_cookies) {
    // $_GET[session.name], used only when it is a string (php-src session.c).
    auto from_query = text::parse_query_string(query_string).string_at(settings_.name);
    if (from_query && !from_query->empty()) return from_query;
  }
  return std::nullopt;
}

// As pecl-memcache PS_READ_FUNC: try, then sleep 5 ms, 10 ms, ..., but at
// most kMaxLockPause (pecl: 1 s) so a queue of waiters on one busy session
// is not paced by their sleeps; the keys and values are the same.
// between attempts, for at most lock_wait in all.
StoreResult Session::acquire_lock() {
  if (!settings_.lock || locked_) return StoreResult::ok;
  const std::string lock_key = this->lock_key();
  const auto deadline = std::chrono::steady_clock::now() + settings_.lock_wait;
  auto pause = std::chrono::milliseconds(5);
  for (int attempt = 1;; ++attempt) {
    const StoreResult got = store_.try_lock(lock_key, settings_.lock_expire);
    if (got == StoreResult::ok) {
      locked_ = true;
      return got;
    }
    if (got != StoreResult::busy) return StoreResult::unavailable;
    const auto now = std::chrono::steady_clock::now();
    if ((settings_.lock_retries > 0 && attempt >= settings_.lock_retries) || now >= deadline) {
      std::int64_t suppressed = 0;
      if (g_lock_log.allow(suppressed))
        spdlog::warn(
            "session {}: gave up waiting for its lock after {} attempts (session.lock_wait = {} "
            "ms, "
            "session.lock_retries = {}); the page answers 503{}",
            id_, attempt, settings_.lock_wait.count(), settings_.lock_retries,
            suppressed_note(suppressed));
      return StoreResult::busy;
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, kMaxLockPause);
  }
}

void Session::release_lock() {
  if (!locked_) return;
  locked_ = false;
  store_.unlock(lock_key(), settings_.lock_expire);
}

void Session::use_fresh_id() {
  id_ = generate_session_id(settings_.sid_length, settings_.sid_bits_per_character);
  cookie_needed_ = true;
}

void Session::decode_stored(const std::string& data) {
  auto decoded = decode_session(data, format());
  if (!decoded) {
    undecodable_ = true;
    spdlog::warn(
        "session {}: the stored value ({} bytes) is not in PHP's \"{}\" serialize format "
        "(session.serialize_handler); starting with an empty $_SESSION and keeping the stored "
        "value unless it is replaced",
        id_, data.size(), settings_.serialize_handler);
    return;
  }
  vars_ = std::move(*decoded);
}

StoreResult Session::start(std::string_view cookie_header, std::string_view query_string) {
  release_lock();
  started_ = false;
  cookie_needed_ = false;
  undecodable_ = false;
  stored_.reset();
  vars_.clear();
  id_.clear();
  try {
    const auto given = id_from_request(cookie_header, query_string);
    bool from_request = false;
    if (given) {
      if (is_valid_session_id(*given, settings_)) {
        id_ = *given;
        from_request = true;
      } else {
        // The value is the client's: log its size, never its bytes.
        std::int64_t suppressed = 0;
        if (g_invalid_id_log.allow(suppressed))
          spdlog::warn(
              "session: rejected an invalid id in the {} cookie ({} bytes; expected {} characters "
              "for session.sid_bits_per_character={}), starting a new session{}",
              settings_.name, given->size(), settings_.sid_length, settings_.sid_bits_per_character,
              suppressed_note(suppressed));
        use_fresh_id();
      }
    } else {
      use_fresh_id();
    }

    // A fresh id came from the kernel's CSPRNG a moment ago: nobody else
    // can hold it or has stored anything under it, so it needs no lock and
    // no read (three memcached round trips saved; PHP reads "" there).
    if (!from_request) {
      stored_ = std::string();
      started_ = true;
      return StoreResult::ok;
    }
    const StoreResult locked = acquire_lock();
    if (locked != StoreResult::ok) return locked;
    std::string data;
    StoreResult read = store_.read(store_key(), data);
    if (read == StoreResult::not_found && settings_.use_strict_mode) {
      // session.use_strict_mode: never adopt an id the server did not make.
      spdlog::debug("session: unknown id from the {} cookie under use_strict_mode, new id issued",
                    settings_.name);
      release_lock();
      use_fresh_id();
    }
    if (read == StoreResult::unavailable) {
      // MemcachedStore has logged the outage once; not every request says it again.
      release_lock();
      return StoreResult::unavailable;
    }
    if (read == StoreResult::not_found) {
      stored_ = std::string();  // pecl-memcache reads a missing session as ""
    } else {
      stored_ = data;
      decode_stored(data);
    }
  } catch (const std::exception& e) {
    spdlog::error("session: cannot start a session: {}", e.what());
    release_lock();
    id_.clear();
    return StoreResult::unavailable;
  }
  started_ = true;
  return StoreResult::ok;
}

std::vector<std::pair<std::string, std::string>> Session::headers(std::int64_t now_unix) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!started_) return out;
  if (cookie_needed_ && settings_.use_cookies)
    out.emplace_back("Set-Cookie", make_set_cookie(id_, settings_, now_unix));

  // php-src session.c CACHE_LIMITER_FUNC(...)
  const std::string limiter = text::lower(settings_.cache_limiter);
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
  const StoreResult result = save();
  release_lock();
  return result;
}

StoreResult Session::save() {
  const Format fmt = format();
  for (const auto& entry : vars_) {
    if (!is_encodable_session_name(entry.key, fmt)) {
      spdlog::warn(
          "session {}: $_SESSION key {} cannot be stored in the php format (an integer key or a "
          "name with '|'), skipped",
          id_,
          std::holds_alternative<std::string>(entry.key)
              ? "'" + std::get<std::string>(entry.key) + "'"
              : std::to_string(std::get<std::int64_t>(entry.key)));
    }
  }
  const std::string encoded = encode_session(vars_, fmt);
  const std::chrono::seconds ttl = settings_.gc_maxlifetime;
  const std::string key = store_key();

  // Nothing new to say about a value we could not read: leave it be.
  if (undecodable_ && encoded.empty()) return StoreResult::ok;

  if (settings_.lazy_write && !encoded.empty() && stored_ && *stored_ == encoded) {
    const StoreResult touched = store_.touch(key, ttl);
    if (touched != StoreResult::not_found) return touched;
    // Expired between start() and now: store it again.
  }
  const StoreResult written = store_.write(key, encoded, ttl);
  if (written == StoreResult::ok) {
    stored_ = encoded;
    undecodable_ = false;
  }
  return written;
}

}  // namespace cppfpm::session
