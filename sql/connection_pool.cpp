#include "sql/connection_pool.h"

#include <soci/mysql/soci-mysql.h>
#include <soci/soci.h>

#include <optional>
#include <thread>

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

// Whether a Galera node takes queries: wsrep_ready ON and Synced
// (wsrep_local_state 4), as clustercheck judges it: a donor (2) is blocked
// while it copies its state to a joiner, a joiner (1) is behind. nullopt
// when the server does not run Galera (wsrep_on absent or OFF), which counts
// as ready.
std::optional<bool> wsrep_ready(soci::session& session) {
  std::string name, value;
  soci::indicator ind = soci::i_ok;
  session << "SHOW VARIABLES LIKE 'wsrep_on'", soci::into(name), soci::into(value, ind);
  if (!session.got_data() || ind != soci::i_ok || value != "ON") return std::nullopt;
  soci::rowset<soci::row> rows = (session.prepare << "SHOW STATUS WHERE Variable_name IN "
                                                     "('wsrep_ready', 'wsrep_local_state')");
  bool ready = false, synced = false;
  for (const auto& row : rows) {
    auto n = row.get<std::string>(0);
    auto v = row.get<std::string>(1);
    if (n == "wsrep_ready") ready = v == "ON";
    if (n == "wsrep_local_state") synced = v == "4";
  }
  return ready && synced;
}

}  // namespace

ConnectionPool::ConnectionPool(PoolOptions options)
    : options_(std::move(options)),
      slots_(static_cast<std::size_t>(options_.size < 1 ? 1 : options_.size)),
      connect_strings_(options_.server_connect_strings.empty()
                           ? std::vector<std::string>{options_.connect_string}
                           : options_.server_connect_strings),
      names_(options_.server_names),
      chooser_(connect_strings_.size(), options_.retry_first, options_.retry_max) {
  names_.resize(connect_strings_.size(), options_.dsn_for_logs);
  for (auto& slot : slots_) free_.push_back(&slot);
}

ConnectionPool::~ConnectionPool() = default;

int ConnectionPool::idle() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(free_.size());
}

std::size_t ConnectionPool::preferred_server() const {
  std::lock_guard lock(servers_mutex_);
  return chooser_.preferred(std::chrono::steady_clock::now());
}

void ConnectionPool::open(Slot& slot) {
  slot.session.reset();
  auto failed = [&](std::size_t i) {
    std::lock_guard lock(servers_mutex_);
    chooser_.failed(i, std::chrono::steady_clock::now());
  };
  // A Galera cluster changing its membership (a node died or joined) has
  // every node not ready for a moment: while one answered, the round is
  // tried again, within sql.connect_timeout.
  const auto deadline = std::chrono::steady_clock::now() + options_.borrow_timeout;
  std::string why;
  for (;;) {
    std::vector<std::size_t> order;
    {
      std::lock_guard lock(servers_mutex_);
      order = chooser_.order(std::chrono::steady_clock::now());
    }
    bool answered = false;
    for (std::size_t i : order) {
      std::unique_ptr<soci::session> session;
      std::optional<bool> ready;
      try {
        session = std::make_unique<soci::session>(*soci::factory_mysql(), connect_strings_[i]);
        ready = wsrep_ready(*session);
        if (ready == false) {
          why = names_[i] + " is not ready (wsrep_ready OFF, or not Synced)";
          answered = true;
          failed(i);
          continue;
        }
        // Reads wait for the writes the cluster has committed, on any node.
        if (ready) *session << "SET SESSION wsrep_sync_wait = 1";
      } catch (const std::exception& e) {
        why = redact_password(e.what());
        if (connect_strings_.size() > 1) why = names_[i] + ": " + why;
        failed(i);
        continue;
      }
      {
        std::lock_guard lock(servers_mutex_);
        chooser_.succeeded(i);
      }
      slot.session = std::move(session);
      slot.server = i;
      slot.wsrep = ready.has_value();
      if (down_.exchange(false)) spdlog::info("MariaDB reachable again ({})", names_[i]);
      auto before = current_.exchange(i);
      if (connect_strings_.size() > 1 && before != i && before != static_cast<std::size_t>(-1))
        spdlog::warn("MariaDB: new connections go to {} (was {})", names_[i], names_[before]);
      return;
    }
    constexpr auto kPause = std::chrono::milliseconds(200);
    if (!answered || std::chrono::steady_clock::now() + kPause >= deadline) break;
    std::this_thread::sleep_for(kPause);
  }
  if (!down_.exchange(true))
    spdlog::error("MariaDB connection failed ({}): {}", options_.dsn_for_logs, why);
  throw Unavailable("MariaDB unreachable: " + why);
}

// A connection that sat idle still answers, and its Galera node is still
// part of the primary component.
bool ConnectionPool::usable(Slot& slot) {
  if (!slot.wsrep) return answers(*slot.session);
  try {
    return wsrep_ready(*slot.session) != false;
  } catch (const std::exception&) {
    return false;
  }
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
  auto now = std::chrono::steady_clock::now();
  if (!slot->session) {
    open(*slot);
  } else if (connect_strings_.size() > 1 && slot->server != preferred_server()) {
    // A better server is back (or this one failed since): move there.
    open(*slot);
  } else if (now - slot->last_used > options_.idle_check && !usable(*slot)) {
    spdlog::info(
        "MariaDB connection idle since {} ms did not answer; reconnecting",
        std::chrono::duration_cast<std::chrono::milliseconds>(now - slot->last_used).count());
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
