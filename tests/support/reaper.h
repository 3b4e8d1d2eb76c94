#pragma once
// Last-resort cleanup for a test process that dies without unwinding (a
// crash, ctest's timeout kill): a small helper process SIGKILLs every
// process group still registered when the test process is gone. Without
// it, nginx workers and cppfpm children would outlive a crashed test.
#include <sys/types.h>

namespace cppfpm::test {

// Registers process group `pgid` for the kill; starts the helper on first use.
void reap_group_if_we_die(pid_t pgid);

// The group was stopped normally: forget it (its id may be reused later).
void forget_group(pid_t pgid);

}  // namespace cppfpm::test
