#include "session/memcached_store.h"

#include <libmemcached/memcached.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <utility>

#include "session/store_key.h"

namespace cppfpm::session {
namespace {

// memcached reads an exptime above 30 days as an absolute unix time.
constexpr std::int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;
// pecl-memcache sets this flag on zlib-compressed values.
constexpr std::uint32_t kPeclMemcacheCompressed = 2;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

[[noreturn]] void bad_entry(std::string_view entry, std::string_view why) {
  throw std::invalid_argument("session.save_path: \"" + std::string(entry) +
                              "\": " + std::string(why));
}

Server parse_server(std::string_view entry) {
  std::string_view rest = entry;
  if (rest.starts_with("unix://")) {
    rest.remove_prefix(7);
    if (rest.empty() || rest.front() != '/')
      bad_entry(entry, "a unix socket needs an absolute path");
    for (char c : rest) {
      if (static_cast<unsigned char>(c) < 0x20) bad_entry(entry, "control character in path");
    }
    return Server{std::string(rest), 0, true};
  }
  if (rest.starts_with("tcp://")) {
    rest.remove_prefix(6);
  } else if (rest.find("://") != std::string_view::npos) {
    bad_entry(entry, "only tcp:// and unix:// servers are supported");
  }
  rest = rest.substr(0, rest.find('?'));  // pecl-memcache options: persistent, weight...
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);

  Server server;
  std::string_view port_text;
  if (rest.starts_with('[')) {  // [v6addr]:port
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) bad_entry(entry, "unclosed '['");
    const std::string_view address = rest.substr(1, close - 1);
    for (char c : address) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        bad_entry(entry, "not an IPv6 address");
      }
    }
    server.host = std::string(address);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_entry(entry, "expected ':port' after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) bad_entry(entry, "empty port");
    }
  } else {
    const std::size_t colon = rest.find(':');
    server.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) bad_entry(entry, "empty port");
    }
    for (char c : server.host) {
      if (!is_host_char(c)) bad_entry(entry, "invalid character in host name");
    }
  }
  if (server.host.empty()) bad_entry(entry, "empty host");
  server.port = kMemcachedDefaultPort;
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      bad_entry(entry, "port must be a number from 1 to 65535");
    }
    server.port = static_cast<std::uint16_t>(port);
  }
  return server;
}

}  // namespace

std::vector<Server> parse_save_path(std::string_view save_path) {
  std::vector<Server> servers;
  std::size_t pos = 0;
  while (pos <= save_path.size()) {
    std::size_t comma = save_path.find(',', pos);
    if (comma == std::string_view::npos) comma = save_path.size();
    const std::string_view entry = trim(save_path.substr(pos, comma - pos));
    if (!entry.empty()) servers.push_back(parse_server(entry));
    pos = comma + 1;
  }
  if (servers.empty()) {
    throw std::invalid_argument("session.save_path: no memcached server given");
  }
  return servers;
}

std::int64_t memcached_exptime(std::chrono::seconds ttl, std::int64_t now_unix) {
  const std::int64_t seconds = ttl.count();
  if (seconds <= kMaxRelativeExptime) return seconds < 0 ? -1 : seconds;
  return now_unix + seconds;
}

// One libmemcached handle. It remembers the process that made it: a handle
// inherited through fork() shares its sockets with the parent, so the
// child must neither use it nor free it (memcached_free would send "quit"
// on the parent's connection); it is abandoned instead.
class MemcachedStore::Connection {
 public:
  Connection(const std::vector<Server>& servers, std::chrono::milliseconds timeout)
      : owner_(::getpid()), handle_(memcached_create(nullptr)) {
    if (handle_ == nullptr) return;
    const auto ms = static_cast<std::uint64_t>(timeout.count());
    // pecl-memcache speaks the text protocol; a blocked server must cost at
    // most `timeout` per call, and a dead one is skipped for a while
    // (RETRY_TIMEOUT) rather than dialled on every request.
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, ms);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, ms);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, ms * 1000);  // microseconds
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_SND_TIMEOUT, ms * 1000);
    memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 2);
    if (servers.size() > 1) {
      memcached_behavior_set(handle_, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                             MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
    }
    for (const Server& server : servers) {
      const memcached_return_t rc =
          server.unix_socket ? memcached_server_add_unix_socket(handle_, server.host.c_str())
                             : memcached_server_add(handle_, server.host.c_str(), server.port);
      if (rc != MEMCACHED_SUCCESS) {
        spdlog::error("session store: memcached_server_add({}:{}) failed: {}", server.host,
                      server.port, memcached_strerror(handle_, rc));
        memcached_free(handle_);
        handle_ = nullptr;
        return;
      }
    }
  }

  ~Connection() {
    if (handle_ != nullptr && owned_here()) memcached_free(handle_);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool owned_here() const { return owner_ == ::getpid(); }
  memcached_st* get() const { return handle_; }

 private:
  pid_t owner_;
  memcached_st* handle_;
};

MemcachedStore::MemcachedStore(std::string_view save_path, std::chrono::milliseconds timeout)
    : MemcachedStore(parse_save_path(save_path), timeout) {}

MemcachedStore::MemcachedStore(std::vector<Server> servers, std::chrono::milliseconds timeout)
    : servers_(std::move(servers)), timeout_(timeout) {
  if (servers_.empty()) throw std::invalid_argument("MemcachedStore: no memcached server given");
}

MemcachedStore::~MemcachedStore() = default;

MemcachedStore::Connection* MemcachedStore::connection() {
  std::unique_ptr<Connection>& slot = connections_.local();
  if (!slot || !slot->owned_here() || slot->get() == nullptr) {
    slot = std::make_unique<Connection>(servers_, timeout_);
  }
  return slot->get() != nullptr ? slot.get() : nullptr;
}

namespace {

StoreResult failure(memcached_st* mc, memcached_return_t rc, const char* call,
                    std::string_view key) {
  if (rc == MEMCACHED_NOTFOUND) return StoreResult::not_found;
  spdlog::warn("session store: {}({}) failed: {}", call, key, memcached_last_error_message(mc));
  return StoreResult::unavailable;
}

}  // namespace

StoreResult MemcachedStore::read(std::string_view key, std::string& out) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  Connection* conn = connection();
  if (conn == nullptr) return StoreResult::unavailable;
  std::size_t length = 0;
  std::uint32_t flags = 0;
  memcached_return_t rc = MEMCACHED_SUCCESS;
  const std::unique_ptr<char, decltype(&std::free)> value(
      memcached_get(conn->get(), key.data(), key.size(), &length, &flags, &rc), &std::free);
  if (rc != MEMCACHED_SUCCESS) return failure(conn->get(), rc, "memcached_get", key);
  if (flags & kPeclMemcacheCompressed) {
    spdlog::warn("session store: value of {} is compressed (flags {}), which is not supported", key,
                 flags);
  }
  out.assign(value ? value.get() : "", value ? length : 0);
  return StoreResult::ok;
}

StoreResult MemcachedStore::write(std::string_view key, std::string_view value,
                                  std::chrono::seconds ttl) {
  if (!is_valid_store_key(key)) {
    spdlog::warn("session store: refused to write under an invalid key ({} bytes)", key.size());
    return StoreResult::unavailable;
  }
  Connection* conn = connection();
  if (conn == nullptr) return StoreResult::unavailable;
  const auto exptime = static_cast<time_t>(memcached_exptime(ttl, std::time(nullptr)));
  const memcached_return_t rc =
      memcached_set(conn->get(), key.data(), key.size(), value.data(), value.size(), exptime, 0);
  if (rc != MEMCACHED_SUCCESS) return failure(conn->get(), rc, "memcached_set", key);
  return StoreResult::ok;
}

StoreResult MemcachedStore::touch(std::string_view key, std::chrono::seconds ttl) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  Connection* conn = connection();
  if (conn == nullptr) return StoreResult::unavailable;
  const auto exptime = static_cast<time_t>(memcached_exptime(ttl, std::time(nullptr)));
  const memcached_return_t rc = memcached_touch(conn->get(), key.data(), key.size(), exptime);
  if (rc != MEMCACHED_SUCCESS) return failure(conn->get(), rc, "memcached_touch", key);
  return StoreResult::ok;
}

StoreResult MemcachedStore::remove(std::string_view key) {
  if (!is_valid_store_key(key)) return StoreResult::not_found;
  Connection* conn = connection();
  if (conn == nullptr) return StoreResult::unavailable;
  const memcached_return_t rc = memcached_delete(conn->get(), key.data(), key.size(), 0);
  if (rc != MEMCACHED_SUCCESS) return failure(conn->get(), rc, "memcached_delete", key);
  return StoreResult::ok;
}

}  // namespace cppfpm::session
