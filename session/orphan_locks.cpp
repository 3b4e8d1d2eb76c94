#include "session/orphan_locks.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>

namespace cppfpm::session {
namespace {

using Clock = std::chrono::steady_clock;

struct Suspect {
  SessionStore* store;
  std::string key;
  std::uint64_t token;
  Clock::time_point since;
  std::optional<Clock::time_point> absent_since;  // first "not ours / not there"
};

struct State {
  std::mutex mutex;  // the list
  std::mutex draining;
  std::deque<Suspect> suspects;
  std::atomic<std::size_t> count{0};
  std::atomic<std::int64_t> last_drain_ms{0};
  std::atomic<std::uint64_t> released{0};
};

State& state() {
  static auto* s = new State();  // never destroyed: threads may drain at exit
  return *s;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

OrphanLocks& OrphanLocks::of_process() {
  static OrphanLocks instance;
  return instance;
}

void OrphanLocks::suspect(SessionStore& store, std::string_view lock_key, std::uint64_t token) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.suspects.size() >= kMaxSuspects) s.suspects.pop_front();
  s.suspects.push_back(Suspect{&store, std::string(lock_key), token, Clock::now(), std::nullopt});
  s.count = s.suspects.size();
}

void OrphanLocks::drain(SessionStore& store, std::chrono::milliseconds every,
                        std::chrono::seconds give_up) {
  State& s = state();
  if (s.count.load() == 0) return;
  const std::int64_t now = now_ms();
  std::int64_t last = s.last_drain_ms.load();
  if (now - last < every.count() || !s.last_drain_ms.compare_exchange_strong(last, now)) return;
  std::unique_lock draining(s.draining, std::try_to_lock);
  if (!draining) return;
  std::deque<Suspect> work;
  {
    std::lock_guard lock(s.mutex);
    work.swap(s.suspects);
  }
  std::deque<Suspect> keep;
  std::uint64_t released = 0;
  bool unreachable = false;
  for (Suspect& suspect : work) {
    const auto at = Clock::now();
    if (suspect.store != &store || unreachable) {
      if (at - suspect.since < give_up) keep.push_back(std::move(suspect));
      continue;
    }
    const StoreResult result = store.unlock(suspect.key, suspect.token, true);
    if (result == StoreResult::ok) {
      ++released;
      continue;
    }
    if (result == StoreResult::unavailable) {
      unreachable = true;  // the rest waits for the next drain
    } else if (!suspect.absent_since) {
      suspect.absent_since = at;
    } else if (at - *suspect.absent_since >= std::chrono::seconds(1)) {
      continue;  // memcached has answered for a second: no late add is coming
    }
    if (at - suspect.since < give_up) keep.push_back(std::move(suspect));
  }
  {
    std::lock_guard lock(s.mutex);
    for (auto& suspect : keep) s.suspects.push_back(std::move(suspect));
    while (s.suspects.size() > kMaxSuspects) s.suspects.pop_front();
    s.count = s.suspects.size();
  }
  if (released > 0) {
    s.released += released;
    spdlog::info(
        "session: released {} lock(s) this process took by an add that memcached answered too "
        "late (after session.memcached_timeout)",
        released);
  }
}

std::size_t OrphanLocks::size() const {
  return state().count.load();
}

std::uint64_t OrphanLocks::released() const {
  return state().released.load();
}

}  // namespace cppfpm::session
