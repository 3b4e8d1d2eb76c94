#include "server/memcached/outage.h"

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <new>

namespace cppfpm::memcached {
namespace {

// Times are steady_clock (CLOCK_MONOTONIC) nanoseconds, the same in every
// process of the machine.
struct SharedState {
  std::atomic<std::int64_t> down_since{0};  // 0: up; else when the outage was seen
  std::atomic<std::int64_t> recovered_at{0};
  // The last call that went to the server and failed, or that probe_due
  // let through to try it again.
  std::atomic<std::int64_t> last_probe{0};
};
static_assert(std::atomic<std::int64_t>::is_always_lock_free,
              "lock-free atomics are address-free, so they work across processes");

SharedState* map_shared_state() {
  constexpr std::size_t kBytes = sizeof(SharedState) * OutageLog::kSlots;
  void* page = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    static SharedState process_local[OutageLog::kSlots];  // one line per outage per process
    return process_local;
  }
  auto* states = static_cast<SharedState*>(page);
  for (int i = 0; i < OutageLog::kSlots; ++i) new (states + i) SharedState();
  return states;
}

// Mapped during static initialisation, so before any fork().
SharedState* const g_states = map_shared_state();

std::int64_t ns(OutageLog::Clock::time_point t) {
  // Never 0, which means "up".
  const std::int64_t n =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return n == 0 ? 1 : n;
}

int clamp_slot(int slot) {
  return slot < 0 || slot >= OutageLog::kSlots ? OutageLog::kSessionStoreSlot : slot;
}

int wrap(int index) {
  return (index < 0 ? 0 : index) % OutageLog::kServerSlots;
}

}  // namespace

int OutageLog::session_server_slot(int index) {
  return 2 + wrap(index);
}

int OutageLog::query_cache_server_slot(int index) {
  return 2 + kServerSlots + wrap(index);
}

OutageLog::OutageLog(std::chrono::milliseconds grace, int slot)
    : grace_(grace), slot_(clamp_slot(slot)) {}

bool OutageLog::failed(Clock::time_point started) {
  SharedState& state = g_states[slot_];
  state.last_probe.store(ns(Clock::now()), std::memory_order_relaxed);
  if (state.down_since.load(std::memory_order_relaxed) != 0) return false;
  const std::int64_t recovered = state.recovered_at.load(std::memory_order_relaxed);
  if (recovered != 0) {
    if (ns(started) < recovered) return false;  // in flight when the server came back
    const auto since = std::chrono::nanoseconds(ns(Clock::now()) - recovered);
    if (since < grace_) return false;
  }
  std::int64_t up = 0;
  return state.down_since.compare_exchange_strong(up, ns(Clock::now()));
}

bool OutageLog::succeeded(Clock::time_point started) {
  SharedState& state = g_states[slot_];
  std::int64_t since = state.down_since.load(std::memory_order_relaxed);
  if (since == 0) return false;
  if (ns(started) < since) return false;  // begun before the outage was seen
  if (!state.down_since.compare_exchange_strong(since, 0)) return false;
  state.recovered_at.store(ns(Clock::now()));
  return true;
}

bool OutageLog::down() const {
  return g_states[slot_].down_since.load(std::memory_order_relaxed) != 0;
}

bool OutageLog::back_since(Clock::time_point t) const {
  const SharedState& state = g_states[slot_];
  if (state.down_since.load(std::memory_order_relaxed) != 0) return false;
  return state.recovered_at.load(std::memory_order_relaxed) > ns(t);
}

bool OutageLog::probe_due(std::chrono::milliseconds interval, Clock::time_point now) {
  SharedState& state = g_states[slot_];
  std::int64_t last = state.last_probe.load(std::memory_order_relaxed);
  if (ns(now) - last < std::chrono::nanoseconds(interval).count()) return false;
  return state.last_probe.compare_exchange_strong(last, ns(now));
}

void OutageLog::reset_shared_state() {
  for (int i = 0; i < kSlots; ++i) {
    g_states[i].down_since.store(0);
    g_states[i].recovered_at.store(0);
    g_states[i].last_probe.store(0);
  }
}

}  // namespace cppfpm::memcached
