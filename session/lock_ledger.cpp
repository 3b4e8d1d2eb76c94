#include "session/lock_ledger.h"

#include <atomic>

namespace cppfpm::session {
namespace {
std::atomic<LockLedger*> g_ledger{nullptr};
}  // namespace

void set_lock_ledger(LockLedger* ledger) {
  g_ledger.store(ledger);
}

LockLedger* lock_ledger() {
  return g_ledger.load();
}

}  // namespace cppfpm::session
