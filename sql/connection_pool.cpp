#include "sql/connection_pool.h"

#include <soci/mysql/soci-mysql.h>
#include <soci/soci.h>

#include <spdlog/spdlog.h>

#include "sql/database.h"
#include "sql/soci_database.h"

namespace cppfpm::sql {
namespace {

bool answers(soci::session& session) {
  try {
    int one = 0;
    session << "SELECT 1", soci::into(one);
    return one == 1;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

ConnectionPool::ConnectionPool(PoolOptions options)
    : options_(std::move(options)),
      slots_(static_cast<std::size_t>(options_.size < 1 ? 1 : options_.size)) {
  for (auto& slot : slots_) free_.push_back(&slot);
}

ConnectionPool::~ConnectionPool() = default;

int ConnectionPool::idle() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(free_.size());
}

void ConnectionPool::open(Slot& slot) {
  slot.session.reset();
  try {
    slot.session = std::make_unique<soci::session>(*soci::factory_mysql(), options_.connect_string);
  } catch (const std::exception& e) {
    std::string why = redact_password(e.what());
    if (!down_.exchange(true))
      spdlog::error("MariaDB connection failed ({}): {}", options_.dsn_for_logs, why);
    throw Unavailable("MariaDB unreachable: " + why);
  }
  if (down_.exchange(false)) spdlog::info("MariaDB reachable again ({})", options_.dsn_for_logs);
}

ConnectionPool::Lease ConnectionPool::borrow() {
  Slot* slot = nullptr;
  {
    std::unique_lock lock(mutex_);
    if (!available_.wait_for(lock, options_.borrow_timeout, [&] { return !free_.empty(); })) {
      throw Unavailable(
          "no free MariaDB connection within sql.connect_timeout; consider raising sql.pool_size "
          "(" +
          std::to_string(slots_.size()) + ")");
    }
    slot = free_.back();
    free_.pop_back();
  }
  Lease lease(*this, slot);  // from here the slot goes back on every path
  if (!slot->session) {
    open(*slot);
  } else if (std::chrono::steady_clock::now() - slot->last_used > options_.idle_check &&
             !answers(*slot->session)) {
    spdlog::info("MariaDB connection idle since {} ms did not answer; reconnecting",
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - slot->last_used)
                     .count());
    open(*slot);
  }
  return lease;
}

void ConnectionPool::give_back(Slot* slot) {
  slot->last_used = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    free_.push_back(slot);
  }
  available_.notify_one();
}

ConnectionPool::Lease::~Lease() {
  if (slot_) pool_->give_back(slot_);
}

void ConnectionPool::Lease::discard() {
  slot_->session.reset();
}

void ConnectionPool::Lease::reconnect() {
  pool_->open(*slot_);
}

}  // namespace cppfpm::sql
