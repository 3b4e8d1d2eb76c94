#include "session/memcached_store.h"

#include <libmemcached/memcached.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "server/memcached/expiry.h"
#include "server/memcached/reply.h"
#include "session/lock_token.h"
#include "session/pecl_compression.h"
#include "session/store_key.h"

namespace cppfpm::session {
namespace {

// pecl-memcache stores PHP integers with this type in the flags
// (MMC_TYPE_LONG); its lock values are integers.
constexpr std::uint32_t kPeclMemcacheLong = 0x0300;
// A compressed session inflating past this is refused (a zlib bomb).
constexpr std::size_t kMaxInflatedSession = 64u << 20;

}  // namespace

MemcachedStore::MemcachedStore(std::string_view save_path, std::chrono::milliseconds timeout)
    : MemcachedStore(memcached::parse_save_path(save_path), timeout) {}

MemcachedStore::MemcachedStore(std::string_view save_path, MemcachedOptions options)
    : MemcachedStore(memcached::parse_save_path(save_path), options) {}

MemcachedStore::MemcachedStore(std::vector<memcached::Server> servers,
                               std::chrono::milliseconds timeout)
    : MemcachedStore(std::move(servers), MemcachedOptions{.timeouts = {.call = timeout}}) {}

MemcachedStore::MemcachedStore(std::vector<memcached::Server> servers, MemcachedOptions options)
    : servers_(std::move(servers)),
      options_(options),
      outages_(servers_, options_.timeouts.outage_grace(), options_.replicas),
      connections_([this] {
        return std::make_unique<MemcachedConnection>(servers_, options_.timeouts,
                                                     options_.replicas);
      }) {
  if (servers_.empty()) throw std::invalid_argument("MemcachedStore: no memcached server given");
  if (options_.replicas < 0) options_.replicas = 0;
}

MemcachedStore::~MemcachedStore() = default;

StoreResult MemcachedStore::no_connection(std::string_view key) {
  return outages_.no_handle(key);
}

// A handle that failed is opened again, so that it dials the server at
// once, when the server was seen back since (by another thread or child),
// or when no call of the pool went to it for timeouts.probe. libmemcached
// alone would skip the server until the handle's own retry timeout ends:
// up to timeouts.retry of 503s after the server is back, all of them on a
// lightly loaded child, whose requests go to the thread that failed.
memcached_st* MemcachedStore::handle_for(MemcachedConnection& conn, std::size_t server) {
  const auto failed = conn.failed_at(server);
  if (failed &&
      (outages_.back_since(server, *failed) || outages_.probe_due(server, options_.timeouts.probe)))
    conn.reopen(server);
  return conn.server(server);
}

ServerReply MemcachedStore::classify(MemcachedConnection& conn, std::size_t server,
                                     memcached_return_t rc, const char* call, std::string_view key,
                                     const CallInfo& info) {
  const ServerReply reply = outages_.classify(server, conn.server(server), rc, call, key, info);
  if (memcached::classify_reply(rc) == memcached::Reply::unreachable &&
      !memcached::skipped_server(rc))
    conn.failed(server, info.started);
  return reply;
}

// A connection found closed (the server restarted since this thread last
// used it) is opened again and the call made once more, so a restart costs
// no request and is not mistaken for an outage.
template <typename Call, typename Stop>
Failures MemcachedStore::ask_holders(MemcachedConnection& conn, std::string_view key,
                                     const char* call_name, Call call, Stop stop) {
  Failures failures;
  for (std::size_t server : conn.holders(key)) {
    memcached_st* handle = handle_for(conn, server);
    const CallInfo info;
    const memcached_return_t rc = memcached::call_with_retry([&] { return call(handle); });
    const ServerReply reply = classify(conn, server, rc, call_name, key, info);
    failures.add(reply);
    if (stop(reply)) break;
  }
  return failures;
}

StoreResult MemcachedStore::read(std::string_view key, std::string& out) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  MemcachedConnection* conn = connections_.local();
  if (conn == nullptr) return no_connection(key);
  // The first holder that has it; a holder that answers "not found" (a
  // server back from a crash, empty) is passed over for the replicas.
  StoreResult result = StoreResult::unavailable;
  std::uint32_t flags = 0;
  Failures failures = ask_holders(
      *conn, key, "memcached_get",
      [&](memcached_st* handle) {
        std::size_t length = 0;
        memcached_return_t rc = MEMCACHED_SUCCESS;
        const std::unique_ptr<char, decltype(&std::free)> value(
            memcached_get(handle, key.data(), key.size(), &length, &flags, &rc), &std::free);
        if (rc == MEMCACHED_SUCCESS) out.assign(value ? value.get() : "", value ? length : 0);
        return rc;
      },
      [&](const ServerReply& reply) {
        if (reply.result == StoreResult::ok || reply.result == StoreResult::not_found)
          result = reply.result;
        return reply.result == StoreResult::ok;
      });
  if (result == StoreResult::ok && (flags & kPeclCompressedFlag)) {
    // Written by PHP (pecl-memcache) above its compress_threshold. An
    // undecodable one is handed on as it is: the session then keeps it.
    if (auto inflated = pecl_uncompress(out, kMaxInflatedSession)) {
      out = std::move(*inflated);
    } else {
      spdlog::warn(
          "session store: value of {} is marked compressed (flags {}) but is not a zlib stream "
          "of at most {} bytes",
          key, flags, kMaxInflatedSession);
    }
  }
  return outages_.outcome(result, failures, "memcached_get", key);
}

StoreResult MemcachedStore::write(std::string_view key, std::string_view value,
                                  std::chrono::seconds ttl) {
  if (!is_valid_store_key(key)) {
    spdlog::warn("session store: refused to write under an invalid key ({} bytes)", key.size());
    return StoreResult::unavailable;
  }
  MemcachedConnection* conn = connections_.local();
  if (conn == nullptr) return no_connection(key);
  const time_t exptime = memcached::memcached_exptime_from_now(ttl);
  std::uint32_t flags = 0;
  std::optional<std::string> compressed = pecl_compress(value, options_.compress_threshold);
  if (compressed) {
    value = *compressed;
    flags = kPeclCompressedFlag;
  }
  StoreResult result = StoreResult::unavailable;  // ok once one holder has it
  Failures failures = ask_holders(
      *conn, key, "memcached_set",
      [&](memcached_st* handle) {
        return memcached_set(handle, key.data(), key.size(), value.data(), value.size(), exptime,
                             flags);
      },
      [&](const ServerReply& reply) {
        if (reply.result == StoreResult::ok) result = StoreResult::ok;
        return false;  // every holder gets its copy
      });
  return outages_.outcome(result, failures, "memcached_set", key);
}

StoreResult MemcachedStore::touch(std::string_view key, std::chrono::seconds ttl) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  MemcachedConnection* conn = connections_.local();
  if (conn == nullptr) return no_connection(key);
  const time_t exptime = memcached::memcached_exptime_from_now(ttl);
  // not_found when a reachable holder lacks the key: the caller then
  // writes the value again, which repairs a replica lost in a crash.
  bool touched = false;
  bool missing = false;
  Failures failures = ask_holders(
      *conn, key, "memcached_touch",
      [&](memcached_st* handle) {
        return memcached_touch(handle, key.data(), key.size(), exptime);
      },
      [&](const ServerReply& reply) {
        touched = touched || reply.result == StoreResult::ok;
        missing = missing || reply.result == StoreResult::not_found;
        return false;
      });
  const StoreResult result = missing   ? StoreResult::not_found
                             : touched ? StoreResult::ok
                                       : StoreResult::unavailable;
  return outages_.outcome(result, failures, "memcached_touch", key);
}

StoreResult MemcachedStore::remove(std::string_view key) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  MemcachedConnection* conn = connections_.local();
  if (conn == nullptr) return no_connection(key);
  StoreResult result = StoreResult::unavailable;
  Failures failures = ask_holders(
      *conn, key, "memcached_delete",
      [&](memcached_st* handle) { return memcached_delete(handle, key.data(), key.size(), 0); },
      [&](const ServerReply& reply) {
        if (reply.result == StoreResult::ok || result == StoreResult::unavailable)
          result = reply.result;
        return false;
      });
  return outages_.outcome(result, failures, "memcached_delete", key);
}

namespace {

// `gets`: the value and its cas unique; NOTFOUND when there is none.
memcached_return_t read_with_cas(memcached_st* mc, std::string_view key, std::string& value,
                                 std::uint64_t& cas) {
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
  const char* keys[] = {key.data()};
  const std::size_t lengths[] = {key.size()};
  memcached_return_t rc = memcached_mget(mc, keys, lengths, 1);
  memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 0);
  if (rc != MEMCACHED_SUCCESS) return rc;
  bool found = false;
  // Read until END so the connection is left clean for the next command.
  for (;;) {
    memcached_return_t fetched = MEMCACHED_SUCCESS;
    memcached_result_st* result = memcached_fetch_result(mc, nullptr, &fetched);
    if (result == nullptr) {
      if (fetched == MEMCACHED_END || fetched == MEMCACHED_NOTFOUND) break;
      return fetched;
    }
    value.assign(memcached_result_value(result), memcached_result_length(result));
    cas = memcached_result_cas(result);
    found = true;
    memcached_result_free(result);
  }
  return found ? MEMCACHED_SUCCESS : MEMCACHED_NOTFOUND;
}

// An absolute exptime long past (just over memcached's 30-day relative
// limit, so 1970): a `cas` with it expires the key at once, which is a
// delete conditional on the cas unique (the text protocol's delete has
// none).
constexpr time_t kAlreadyExpired = 60 * 60 * 24 * 30 + 1;

}  // namespace

// The lock lives on the first holder that answers, so a dead primary does
// not stop its sessions; both parties of a race find the same server.
StoreResult MemcachedStore::try_lock(std::string_view lock_key, std::chrono::seconds expire,
                                     std::uint64_t token) {
  if (!is_valid_store_key(lock_key)) return StoreResult::unavailable;
  MemcachedConnection* conn = connections_.local();
  if (conn == nullptr) return no_connection(lock_key);
  const time_t exptime = memcached::memcached_exptime_from_now(expire);
  const std::string value = lock_value(token);
  Failures failures;
  for (std::size_t server : conn->holders(lock_key)) {
    memcached_st* mc = handle_for(*conn, server);
    // The add is retried on a lost connection like the other calls: if the
    // first one was run after all, the retry finds our own token, below.
    CallInfo info;
    memcached_return_t rc = memcached::call_with_retry([&] {
      return memcached_add(mc, lock_key.data(), lock_key.size(), value.data(), value.size(),
                           exptime, kPeclMemcacheLong);
    });
    ServerReply reply = classify(*conn, server, rc, "memcached_add", lock_key, info);
    failures.add(reply);
    if (reply.result == StoreResult::unavailable) continue;
    if (rc == MEMCACHED_SUCCESS) return outages_.outcome(StoreResult::ok, failures, "", lock_key);
    // There is a lock: ours (an add of this token that ran although its
    // answer was lost: a retried one, or one answered too late while this
    // request waited), held by another, or released by PHP, which leaves
    // the integer 0 (PS_WRITE_FUNC); PHP's waiters take that one by `incr`
    // to 1, we by a `cas` from 0 to our token, so exactly one of us gets it.
    std::string held;
    std::uint64_t cas = 0;
    info = CallInfo{};
    rc = memcached::call_with_retry([&] { return read_with_cas(mc, lock_key, held, cas); });
    reply = classify(*conn, server, rc, "memcached_gets", lock_key, info);
    failures.add(reply);
    if (reply.result == StoreResult::unavailable) continue;
    if (rc == MEMCACHED_SUCCESS && lock_value_owned_by(held, token))
      return outages_.outcome(StoreResult::ok, failures, "", lock_key);
    if (rc != MEMCACHED_SUCCESS || held != "0")  // gone meanwhile: retried soon
      return outages_.outcome(StoreResult::busy, failures, "", lock_key);
    info = CallInfo{};
    rc = memcached_cas(mc, lock_key.data(), lock_key.size(), value.data(), value.size(), exptime,
                       kPeclMemcacheLong, cas);
    reply = classify(*conn, server, rc, "memcached_cas", lock_key, info);
    failures.add(reply);
    if (reply.result == StoreResult::unavailable) continue;
    return outages_.outcome(rc == MEMCACHED_SUCCESS ? StoreResult::ok : StoreResult::busy, failures,
                            "", lock_key);
  }
  return outages_.outcome(StoreResult::unavailable, failures, "memcached_add", lock_key);
}

StoreResult MemcachedStore::unlock(std::string_view lock_key, std::uint64_t token, bool verify) {
  if (!is_valid_store_key(lock_key)) return StoreResult::unavailable;
  MemcachedConnection* conn = connections_.local();
  if (conn == nullptr) return no_connection(lock_key);
  if (!verify) {
    // The lock is on the first holder that answers (see try_lock).
    bool released = false;
    Failures failures;
    for (std::size_t server : conn->holders(lock_key)) {
      memcached_st* handle = handle_for(*conn, server);
      // The release needs no answer: "noreply" (memcached's protocol.txt)
      // saves a round trip per request. memcached runs one connection's
      // commands in order, and the delete is on the wire before we return.
      // Its success is no sign of the server being there (a frozen one
      // takes it into the socket's buffer too), only its failure is.
      const CallInfo info{.answer_expected = false};
      const memcached_return_t rc = memcached::call_with_retry([&] {
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_NOREPLY, 1);
        const memcached_return_t deleted =
            memcached_delete(handle, lock_key.data(), lock_key.size(), 0);
        memcached_behavior_set(handle, MEMCACHED_BEHAVIOR_NOREPLY, 0);
        return deleted;
      });
      const ServerReply reply = classify(*conn, server, rc, "memcached_delete", lock_key, info);
      failures.add(reply);
      released = reply.result != StoreResult::unavailable;
      if (released) break;
    }
    if (released) return outages_.outcome(StoreResult::ok, failures, "", lock_key);
    return outages_.outcome(StoreResult::unavailable, failures, "memcached_delete", lock_key);
  }
  // Only if it still holds our token: gets, then a cas that expires it.
  Failures failures;
  for (std::size_t server : conn->holders(lock_key)) {
    memcached_st* mc = handle_for(*conn, server);
    // DATA_EXISTS: a PHP waiter incremented it between the two; still
    // ours, so read it again (a few times at most).
    memcached_return_t rc = MEMCACHED_DATA_EXISTS;
    bool reached = true;
    for (int attempt = 0; attempt < 4 && rc == MEMCACHED_DATA_EXISTS; ++attempt) {
      std::string held;
      std::uint64_t cas = 0;
      CallInfo info;
      rc = memcached::call_with_retry([&] { return read_with_cas(mc, lock_key, held, cas); });
      ServerReply reply = classify(*conn, server, rc, "memcached_gets", lock_key, info);
      failures.add(reply);
      if (reply.result == StoreResult::unavailable) {
        reached = false;
        break;
      }
      if (rc != MEMCACHED_SUCCESS || !lock_value_owned_by(held, token))
        return outages_.outcome(StoreResult::not_found, failures, "", lock_key);
      info = CallInfo{};
      rc = memcached_cas(mc, lock_key.data(), lock_key.size(), "0", 1, kAlreadyExpired,
                         kPeclMemcacheLong, cas);
      reply = classify(*conn, server, rc, "memcached_cas", lock_key, info);
      failures.add(reply);
      if (reply.result == StoreResult::unavailable) reached = false;
    }
    if (!reached) continue;
    return outages_.outcome(rc == MEMCACHED_SUCCESS ? StoreResult::ok : StoreResult::not_found,
                            failures, "", lock_key);
  }
  return outages_.outcome(StoreResult::unavailable, failures, "memcached_gets", lock_key);
}

}  // namespace cppfpm::session
