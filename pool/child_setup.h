#pragma once
// What a freshly forked child does before it serves: php-fpm's per-pool
// process settings (fpm_unix.c, fpm_env.c). Where a page's stdout and
// stderr go is the program's part: server/child.cpp.
#include <string>

#include "pool/config.h"

namespace cppfpm::pool {

// rlimit_files (else the soft RLIMIT_NOFILE raised to the hard one), env[...] / clear_env, then the
// user/group drop when started as root. false (logged) when the child must not go on.
bool prepare_child_process(const PoolConfig& config);

// Checks user/group exist (at start and on reload), so a typo is a config
// error and not a child that dies at every spawn. "" when fine.
std::string check_pool_identity(const PoolConfig& config);

}  // namespace cppfpm::pool
