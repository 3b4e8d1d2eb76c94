#pragma once
// A private memcached on a loopback port, and ways to look inside it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.h"

namespace cppfpm::test {

class Memcached {
 public:
  // Starts `memcached -l 127.0.0.1 -p PORT -U 0` (a free port when 0),
  // logging to `dir`/memcached.log; throws when it does not come up.
  explicit Memcached(const std::filesystem::path& dir, int port = 0);
  // SIGKILL: nothing to save, and SIGTERM costs memcached up to a second.
  ~Memcached();
  Memcached(const Memcached&) = delete;
  Memcached& operator=(const Memcached&) = delete;

  int port() const { return port_; }
  // PHP's session.save_path form: "tcp://127.0.0.1:PORT".
  std::string save_path() const;
  bool running() { return process_ && process_->running(); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  void stop();     // SIGTERM and wait
  void kill();     // SIGKILL: a crash
  void restart();  // starts again on the same port, empty
  std::string log() const;

 private:
  void start();

  std::filesystem::path dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

struct MemcachedItem {
  std::string key;            // decoded
  std::int64_t exptime = -1;  // absolute unix time; -1 = never expires
  std::size_t size = 0;       // memcached's item size (key + value + overhead)
};

// Every item memcached holds, via `lru_crawler metadump all` (memcached
// >= 1.4.31). Throws when the server cannot be asked.
std::vector<MemcachedItem> memcached_items(int port);

// The raw value under `key` (libmemcached), nullopt when there is none.
std::optional<std::string> memcached_get(int port, std::string_view key);

// The flags stored with `key`, nullopt when there is none.
std::optional<std::uint32_t> memcached_flags(int port, std::string_view key);

// Stores `value` under `key` (libmemcached); true on success.
bool memcached_set(int port, std::string_view key, std::string_view value, int ttl_seconds = 0);

}  // namespace cppfpm::test
