#include "session/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "server/text/query_string.h"
#include "server/text/strings.h"
#include "session/cookie.h"
#include "session/lock_ledger.h"
#include "session/lock_token.h"
#include "session/orphan_locks.h"
#include "session/php_serialize.h"
#include "session/session_id.h"

namespace cppfpm::session {
namespace {

// PHP's fixed date for "already expired" (the birthday of session.c's author).
constexpr const char* kExpiredDate = "Thu, 19 Nov 1981 08:52:00 GMT";

constexpr std::chrono::milliseconds kMaxLockPause{50};

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
RateLimit g_waiters_log;

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
// most kMaxLockPause (pecl: 1 s) between attempts (kHotLockPause while
// another child of the pool holds it), for at most lock_wait
// in all. Requests of this child for the same session stand in line
// (LockLine): only the first polls memcached, the others sleep until it
// has had its turn. A request that has to wait counts against
// session.lock_waiters; past it, it waits only while the lock changes
// hands (LockWait).
StoreResult Session::acquire_lock() {
  if (!settings_.lock || locked_) return StoreResult::ok;
  const std::string lock_key = this->lock_key();
  LockWait wait(settings_.lock_wait, settings_.lock_waiters);
  OrphanLocks::of_process().drain(store_);
  auto line = std::make_unique<LockLine>(&store_, lock_key);
  while (!line->first()) {
    const auto now = std::chrono::steady_clock::now();
    const auto deadline = wait.deadline();
    if (now >= deadline) {
      if (wait.counted()) return gave_up(0);
      // Past the bound: wait on only while the line moves.
      if (line->still_for() >= LockWait::kOverBound || now >= wait.full_deadline())
        return too_many_waiters();
    }
    if (line->wait_first(wait.counted()
                             ? deadline
                             : std::min(wait.full_deadline(), now + std::chrono::milliseconds(50))))
      break;
  }
  const StoreResult got = poll_lock(lock_key, wait, *line);
  if (got == StoreResult::ok) line_ = std::move(line);
  return got;
}

// First in this child's line: polls memcached until the lock is ours.
StoreResult Session::poll_lock(const std::string& lock_key, LockWait& wait, LockLine& line) {
  lock_token_ = new_lock_token();
  LockLedger* ledger = lock_ledger();
  // Written down before the add goes out: if this child dies holding the
  // lock, the master finds it there and releases it.
  ledger_entry_ = ledger ? ledger->taken(lock_key, lock_token_) : -1;
  if (ledger) yield_turn_if_due(*ledger, lock_key, line);
  auto pause = std::chrono::milliseconds(5);
  std::string holder;  // the lock's value, while past the bound
  auto holder_since = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    const StoreResult got = store_.try_lock(lock_key, settings_.lock_expire, lock_token_);
    if (got == StoreResult::ok) {
      locked_ = true;
      locked_at_ = std::chrono::steady_clock::now();
      if (ledger && ledger_entry_ >= 0) ledger->acquired(ledger_entry_);
      line.took_lock();
      return got;
    }
    if (got != StoreResult::busy) {
      // No answer: the add may still be executed when memcached resumes.
      OrphanLocks::of_process().suspect(store_, lock_key, lock_token_);
      forget_lock();
      return StoreResult::unavailable;
    }
    line.turn_over();  // someone else has it
    auto deadline = wait.deadline();
    auto now = std::chrono::steady_clock::now();
    if (!wait.counted()) {
      // Past the bound: wait on while the lock changes hands.
      std::string held;
      store_.read(lock_key, held);
      if (held != holder) {
        holder = held;
        holder_since = now;
      }
      if (now - holder_since < LockWait::kOverBound)
        deadline = std::min(wait.full_deadline(), std::max(deadline, now + pause));
    }
    if ((settings_.lock_retries > 0 && attempt >= settings_.lock_retries) || now >= deadline) {
      forget_lock();
      return wait.counted() ? gave_up(attempt) : too_many_waiters();
    }
    if (ledger) pause = hot_lock_pause(*ledger, lock_key, pause);
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, kMaxLockPause);
    OrphanLocks::of_process().drain(store_);
  }
}

StoreResult Session::gave_up(int attempts) const {
  std::int64_t suppressed = 0;
  if (g_lock_log.allow(suppressed))
    spdlog::warn(
        "session {}: gave up waiting for its lock after {} attempts (session.lock_wait = {} ms, "
        "session.lock_retries = {}); the page answers 503{}",
        id_, attempts, settings_.lock_wait.count(), settings_.lock_retries,
        suppressed_note(suppressed));
  return StoreResult::busy;
}

StoreResult Session::too_many_waiters() const {
  std::int64_t suppressed = 0;
  if (g_waiters_log.allow(suppressed))
    spdlog::warn(
        "session {}: {} requests of this child already wait for session locks "
        "(session.lock_waiters = {}) and its lock did not change hands for {} ms; the page "
        "answers 503{}",
        id_, WaiterSlot::waiting(), settings_.lock_waiters, LockWait::kOverBound.count(),
        suppressed_note(suppressed));
  return StoreResult::busy;
}

// The ledger entry goes; the lock was not taken (or is released).
void Session::forget_lock() {
  if (ledger_entry_ >= 0)
    if (LockLedger* ledger = lock_ledger()) ledger->released(ledger_entry_);
  ledger_entry_ = -1;
}

void Session::release_lock() {
  if (!locked_) return;
  locked_ = false;
  // Held for less than half its expiry, the key is still ours: one delete
  // without an answer. Longer, it may have expired and been taken by
  // someone else: delete it only if it still holds our token.
  const bool verify = std::chrono::steady_clock::now() - locked_at_ >= settings_.lock_expire / 2;
  const StoreResult released = store_.unlock(lock_key(), lock_token_, verify);
  if (released == StoreResult::unavailable)
    OrphanLocks::of_process().suspect(store_, lock_key(), lock_token_);
  forget_lock();
  line_.reset();  // the next request of this child in line polls now
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
    auto given = id_from_request(cookie_header, query_string);
    bool from_request = false;
    if (given) {
      if (is_valid_session_id(*given, settings_)) {
        id_ = std::move(*given);
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
      decode_stored(data);
      stored_ = std::move(data);
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
  out.reserve(4);  // at most Set-Cookie and three of the limiter's
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
  std::string encoded = encode_session(vars_, fmt);
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
    stored_ = std::move(encoded);
    undecodable_ = false;
  }
  return written;
}

}  // namespace cppfpm::session
