#include "session/memcached_store.h"

#include "server/memcached/handle.h"

#include <libmemcached/memcached.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <utility>

#include "session/pecl_compression.h"
#include "session/store_key.h"

namespace cppfpm::session {
namespace {

// memcached reads an exptime above 30 days as an absolute unix time.
constexpr std::int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

}  // namespace

std::int64_t memcached_exptime(std::chrono::seconds ttl, std::int64_t now_unix) {
  const std::int64_t seconds = ttl.count();
  if (seconds <= kMaxRelativeExptime) return seconds < 0 ? -1 : seconds;
  return now_unix + seconds;
}

namespace {

// pecl-memcache stores PHP integers with this type in the flags
// (MMC_TYPE_LONG); its lock values are integers.
constexpr std::uint32_t kPeclMemcacheLong = 0x0300;
// A compressed session inflating past this is refused (a zlib bomb).
constexpr std::size_t kMaxInflatedSession = 64u << 20;

memcached_st* make_handle(const std::vector<memcached::Server>& servers, const MemcachedOptions& options) {
  return memcached::make_memcached_handle(servers, options.timeout, options.retry_timeout, "session store");
}

}  // namespace

// One thread's handles: one per server, and with several servers a ketama
// ring that only picks a key's primary server. It remembers the process
// that made it: handles inherited through fork() share their sockets with
// the parent, so the child must neither use nor free them (memcached_free
// would send "quit" on the parent's connection); they are abandoned.
class MemcachedStore::Connection {
 public:
  Connection(const std::vector<memcached::Server>& servers, const MemcachedOptions& options)
      : owner_(::getpid()), replicas_(options.replicas) {
    if (servers.size() > 1) {
      ring_ = make_handle(servers, options);
      if (ring_ == nullptr) return;
    }
    for (const memcached::Server& server : servers) {
      memcached_st* handle = make_handle({server}, options);
      if (handle == nullptr) return;
      per_server_.push_back(handle);
    }
    ok_ = true;
  }

  ~Connection() {
    if (!owned_here()) return;
    if (ring_ != nullptr) memcached_free(ring_);
    for (memcached_st* handle : per_server_) memcached_free(handle);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool owned_here() const { return owner_ == ::getpid(); }
  bool ok() const { return ok_; }

  // Indexes of the servers holding `key`: its ketama server, then the
  // next `replicas` servers of save_path after it.
  std::vector<std::size_t> holders(std::string_view key) const {
    const std::size_t n = per_server_.size();
    std::size_t primary = 0;
    if (ring_ != nullptr) primary = memcached_generate_hash(ring_, key.data(), key.size()) % n;
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i <= static_cast<std::size_t>(replicas_) && i < n; ++i)
      out.push_back((primary + i) % n);
    return out;
  }
  memcached_st* server(std::size_t index) const { return per_server_[index]; }

 private:
  pid_t owner_;
  int replicas_;
  bool ok_ = false;
  memcached_st* ring_ = nullptr;
  std::vector<memcached_st*> per_server_;
};

MemcachedStore::MemcachedStore(std::string_view save_path, std::chrono::milliseconds timeout)
    : MemcachedStore(memcached::parse_save_path(save_path), timeout) {}

MemcachedStore::MemcachedStore(std::vector<memcached::Server> servers, std::chrono::milliseconds timeout)
    : MemcachedStore(std::move(servers), MemcachedOptions{.timeout = timeout}) {}

MemcachedStore::MemcachedStore(std::vector<memcached::Server> servers, MemcachedOptions options)
    : servers_(std::move(servers)), options_(options), outage_(grace()) {
  if (servers_.empty()) throw std::invalid_argument("MemcachedStore: no memcached server given");
  if (options_.replicas < 0) options_.replicas = 0;
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    const memcached::Server& server = servers_[i];
    if (!servers_for_logs_.empty()) servers_for_logs_ += ", ";
    server_names_.push_back(server.unix_socket ? "unix://" + server.host
                                               : server.host + ":" + std::to_string(server.port));
    servers_for_logs_ += server_names_.back();
    server_outages_.emplace_back(grace(), static_cast<int>(i) + 1);
  }
}

std::chrono::milliseconds MemcachedStore::grace() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(options_.retry_timeout) +
         options_.timeout * 2;
}

MemcachedStore::~MemcachedStore() = default;

MemcachedStore::Connection* MemcachedStore::connection() {
  std::unique_ptr<Connection>& slot = connections_.local();
  if (!slot || !slot->owned_here() || !slot->ok()) {
    slot = std::make_unique<Connection>(servers_, options_);
  }
  return slot->ok() ? slot.get() : nullptr;
}

// What one server's answer means; failures of one server are logged once
// per outage of that server when the others can stand in (replicas), and
// once per outage of the store when none could.
StoreResult MemcachedStore::classify(std::size_t server, memcached_return_t rc, const char* call,
                                     std::string_view key) {
  if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_NOTSTORED ||
      rc == MEMCACHED_DATA_EXISTS) {
    if (server_outages_[server].succeeded() && servers_.size() > 1)
      spdlog::info("session store: memcached {} reachable again", server_names_[server]);
    return rc == MEMCACHED_NOTFOUND ? StoreResult::not_found : StoreResult::ok;
  }
  Connection* conn = connection();
  last_error_ = conn != nullptr ? memcached_last_error_message(conn->server(server))
                                : memcached_strerror(nullptr, rc);
  if (rc == MEMCACHED_E2BIG || rc == MEMCACHED_CLIENT_ERROR || rc == MEMCACHED_SERVER_ERROR ||
      rc == MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE || rc == MEMCACHED_BAD_KEY_PROVIDED) {
    refused_ = true;
    return StoreResult::unavailable;
  }
  if (server_outages_[server].failed() && servers_.size() > 1)
    spdlog::warn("session store: memcached {} unreachable: {}({}) failed: {}{}",
                 server_names_[server], call, key, last_error_,
                 options_.replicas > 0 ? "; its sessions are served from their replicas" : "");
  return StoreResult::unavailable;
}

StoreResult MemcachedStore::outcome(StoreResult result, const char* call, std::string_view key) {
  const bool refused = std::exchange(refused_, false);
  if (result == StoreResult::unavailable && refused) {
    spdlog::warn("session store: memcached refused {}({}): {}", call, key, last_error_);
    return result;
  }
  if (result != StoreResult::unavailable) {
    if (outage_.succeeded())
      spdlog::info("session store: memcached reachable again ({})", servers_for_logs_);
    return result;
  }
  if (outage_.failed()) {
    spdlog::error(
        "session store: memcached unreachable ({}): {}({}) failed: {}; session pages answer 503 "
        "until it is back (session.save_path, session.memcached_timeout)",
        servers_for_logs_, call, key, last_error_);
  }
  return StoreResult::unavailable;
}

StoreResult MemcachedStore::read(std::string_view key, std::string& out) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  Connection* conn = connection();
  if (conn == nullptr) return outcome(StoreResult::unavailable, "memcached_create", key);
  // The first holder that has it; a holder that answers "not found" (a
  // server back from a crash, empty) is passed over for the replicas.
  StoreResult result = StoreResult::unavailable;
  for (std::size_t server : conn->holders(key)) {
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    const std::unique_ptr<char, decltype(&std::free)> value(
        memcached_get(conn->server(server), key.data(), key.size(), &length, &flags, &rc),
        &std::free);
    const StoreResult answer = classify(server, rc, "memcached_get", key);
    if (answer == StoreResult::ok) {
      out.assign(value ? value.get() : "", value ? length : 0);
      if (flags & kPeclCompressedFlag) {
        // Written by PHP (pecl-memcache) above its compress_threshold. An
        // undecodable one is handed on as it is: the session then keeps it.
        if (auto inflated = pecl_uncompress(out, kMaxInflatedSession)) {
          out = std::move(*inflated);
        } else {
          spdlog::warn("session store: value of {} is marked compressed (flags {}) but is not a zlib stream "
                       "of at most {} bytes",
                       key, flags, kMaxInflatedSession);
        }
      }
      return outcome(StoreResult::ok, "memcached_get", key);
    }
    if (answer == StoreResult::not_found) result = StoreResult::not_found;
  }
  return outcome(result, "memcached_get", key);
}

StoreResult MemcachedStore::write(std::string_view key, std::string_view value,
                                  std::chrono::seconds ttl) {
  if (!is_valid_store_key(key)) {
    spdlog::warn("session store: refused to write under an invalid key ({} bytes)", key.size());
    return StoreResult::unavailable;
  }
  Connection* conn = connection();
  if (conn == nullptr) return outcome(StoreResult::unavailable, "memcached_create", key);
  const auto exptime = static_cast<time_t>(memcached_exptime(ttl, std::time(nullptr)));
  std::uint32_t flags = 0;
  std::optional<std::string> compressed = pecl_compress(value, options_.compress_threshold);
  if (compressed) {
    value = *compressed;
    flags = kPeclCompressedFlag;
  }
  StoreResult result = StoreResult::unavailable;  // ok once one holder has it
  for (std::size_t server : conn->holders(key)) {
    const memcached_return_t rc = memcached_set(conn->server(server), key.data(), key.size(),
                                                value.data(), value.size(), exptime, flags);
    if (classify(server, rc, "memcached_set", key) == StoreResult::ok) result = StoreResult::ok;
  }
  return outcome(result, "memcached_set", key);
}

StoreResult MemcachedStore::touch(std::string_view key, std::chrono::seconds ttl) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  Connection* conn = connection();
  if (conn == nullptr) return outcome(StoreResult::unavailable, "memcached_create", key);
  const auto exptime = static_cast<time_t>(memcached_exptime(ttl, std::time(nullptr)));
  // not_found when a reachable holder lacks the key: the caller then
  // writes the value again, which repairs a replica lost in a crash.
  bool touched = false;
  bool missing = false;
  for (std::size_t server : conn->holders(key)) {
    const memcached_return_t rc =
        memcached_touch(conn->server(server), key.data(), key.size(), exptime);
    const StoreResult answer = classify(server, rc, "memcached_touch", key);
    touched = touched || answer == StoreResult::ok;
    missing = missing || answer == StoreResult::not_found;
  }
  const StoreResult result = missing   ? StoreResult::not_found
                             : touched ? StoreResult::ok
                                       : StoreResult::unavailable;
  return outcome(result, "memcached_touch", key);
}

StoreResult MemcachedStore::remove(std::string_view key) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  Connection* conn = connection();
  if (conn == nullptr) return outcome(StoreResult::unavailable, "memcached_create", key);
  StoreResult result = StoreResult::unavailable;
  for (std::size_t server : conn->holders(key)) {
    const memcached_return_t rc = memcached_delete(conn->server(server), key.data(), key.size(), 0);
    const StoreResult answer = classify(server, rc, "memcached_delete", key);
    if (answer == StoreResult::ok || result == StoreResult::unavailable) result = answer;
  }
  return outcome(result, "memcached_delete", key);
}

// The lock lives on the first holder that answers, so a dead primary does
// not stop its sessions; both parties of a race find the same server.
StoreResult MemcachedStore::try_lock(std::string_view lock_key, std::chrono::seconds expire) {
  if (!is_valid_store_key(lock_key)) return StoreResult::unavailable;
  Connection* conn = connection();
  if (conn == nullptr) return outcome(StoreResult::unavailable, "memcached_create", lock_key);
  const auto exptime = static_cast<time_t>(memcached_exptime(expire, std::time(nullptr)));
  for (std::size_t server : conn->holders(lock_key)) {
    memcached_st* mc = conn->server(server);
    // pecl-memcache's PS_READ_FUNC sends add and incr; either one answering
    // "yours" takes the lock. The add comes first: we delete our locks on
    // release, so it is usually the only round trip.
    memcached_return_t rc =
        memcached_add(mc, lock_key.data(), lock_key.size(), "1", 1, exptime, kPeclMemcacheLong);
    StoreResult answer = classify(server, rc, "memcached_add", lock_key);
    if (answer == StoreResult::unavailable) continue;
    if (rc == MEMCACHED_SUCCESS) return outcome(StoreResult::ok, "", lock_key);
    // There is a lock: held (1, 2, ...) or released by PHP, which leaves 0.
    std::uint64_t value = 0;
    rc = memcached_increment(mc, lock_key.data(), lock_key.size(), 1, &value);
    answer = classify(server, rc, "memcached_increment", lock_key);
    if (answer == StoreResult::unavailable && std::exchange(refused_, false)) {
      // A lock value that is not a number (CLIENT_ERROR): held, by
      // something else; it expires like any lock.
      return outcome(StoreResult::busy, "", lock_key);
    }
    if (answer == StoreResult::unavailable) continue;
    // Gone between the two (released or expired): busy now, retried soon.
    return outcome(answer == StoreResult::ok && value == 1 ? StoreResult::ok : StoreResult::busy, "",
                   lock_key);
  }
  return outcome(StoreResult::unavailable, "memcached_add", lock_key);
}

StoreResult MemcachedStore::unlock(std::string_view lock_key, std::chrono::seconds expire) {
  (void)expire;
  if (!is_valid_store_key(lock_key)) return StoreResult::unavailable;
  Connection* conn = connection();
  if (conn == nullptr) return outcome(StoreResult::unavailable, "memcached_create", lock_key);
  for (std::size_t server : conn->holders(lock_key)) {
    // The release needs no answer: "noreply" (memcached's protocol.txt)
    // saves a round trip per request. memcached runs one connection's
    // commands in order, and the delete is on the wire before we return.
    memcached_st* handle = conn->server(server);
    memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_NOREPLY, 1);
    const memcached_return_t rc = memcached_delete(handle, lock_key.data(), lock_key.size(), 0);
    memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_NOREPLY, 0);
    if (classify(server, rc, "memcached_delete", lock_key) != StoreResult::unavailable)
      return outcome(StoreResult::ok, "", lock_key);
  }
  return outcome(StoreResult::unavailable, "memcached_delete", lock_key);
}

}  // namespace cppfpm::session
