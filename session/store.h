#pragma once
// The session storage seam: memcached in production, in-process for unit
// tests of handlers and `session.save_handler = memory`.
#include <chrono>
#include <string>
#include <string_view>

namespace cppfpm::session {

enum class StoreResult {
  ok,
  not_found,
  unavailable,  // the backend could not be reached or answered an error
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // Reads the raw stored bytes under `key` into `out`.
  virtual StoreResult read(std::string_view key, std::string& out) = 0;
  virtual StoreResult write(std::string_view key, std::string_view value,
                            std::chrono::seconds ttl) = 0;
  // Refreshes the lifetime of an existing key without rewriting it.
  virtual StoreResult touch(std::string_view key, std::chrono::seconds ttl) = 0;
  virtual StoreResult remove(std::string_view key) = 0;
};

}  // namespace cppfpm::session
