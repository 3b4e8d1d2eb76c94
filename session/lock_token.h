#pragma once
// Who holds a session lock: each acquisition draws a token, and the lock
// key holds it as a decimal integer. Bit 62 is set (never one of PHP's
// small lock values, 0, 1, 2, ...), bits 32..61 are random and name the
// owner, bits 0..31 are zero: PHP's waiters `incr` a held lock once per
// attempt, which changes only those low bits, so the owner stays
// recognisable. Which process and thread an owner is lives beside the
// token in the scoreboard (LockLedger), not in the value, which must stay
// a number for PHP.
#include <cstdint>
#include <string>
#include <string_view>

namespace cppfpm::session {

// A fresh owner token (thread-local generator seeded from the kernel).
std::uint64_t new_lock_token();

// The value stored under the lock key for `token`.
std::string lock_value(std::uint64_t token);

// Whether a lock key's stored value is `token`'s, PHP's increments
// included.
bool lock_value_owned_by(std::string_view value, std::uint64_t token);

}  // namespace cppfpm::session
