#include "server/memcached/outage.h"

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <new>

namespace cppfpm::memcached {
namespace {

struct SharedState {
  std::atomic<bool> down{false};
  std::atomic<std::int64_t> recovered_at_ms{0};
};
static_assert(std::atomic<bool>::is_always_lock_free &&
                  std::atomic<std::int64_t>::is_always_lock_free,
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

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int slot_index(int slot) {
  if (slot < OutageLog::kFirstSessionServerSlot) return slot < 0 ? 0 : slot;
  constexpr int kServerSlots = OutageLog::kSlots - OutageLog::kFirstSessionServerSlot;
  return OutageLog::kFirstSessionServerSlot +
         (slot - OutageLog::kFirstSessionServerSlot) % kServerSlots;
}

}  // namespace

OutageLog::OutageLog(std::chrono::milliseconds grace, int slot)
    : grace_(grace), slot_(slot_index(slot)) {}

bool OutageLog::failed() {
  SharedState* const g_state = g_states + slot_;
  if (g_state->down.load(std::memory_order_relaxed)) return false;
  const std::int64_t recovered = g_state->recovered_at_ms.load(std::memory_order_relaxed);
  if (recovered != 0 && now_ms() - recovered < grace_.count()) return false;
  return !g_state->down.exchange(true);
}

bool OutageLog::succeeded() {
  SharedState* const g_state = g_states + slot_;
  if (!g_state->down.load(std::memory_order_relaxed)) return false;
  if (!g_state->down.exchange(false)) return false;
  g_state->recovered_at_ms.store(now_ms());
  return true;
}

void OutageLog::reset_shared_state() {
  for (int i = 0; i < kSlots; ++i) {
    g_states[i].down.store(false);
    g_states[i].recovered_at_ms.store(0);
  }
}

}  // namespace cppfpm::memcached
