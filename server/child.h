#pragma once
// The life of one child process: worker threads, the event loop, the
// handlers' context (session store, SQL), until the master says stop.
#include <vector>

#include "handlers/handler.h"
#include "pool/children.h"
#include "pool/config.h"

namespace cppfpm::server {

// Runs in a forked child. SIGTERM/SIGINT: stop now. SIGQUIT: finish the
// requests in flight, then exit. SIGUSR1: ignored (the master reopens the
// logs, then replaces its children). Returns the exit code.
int run_child(const pool::PoolConfig& pool, int listen_fd, const pool::ChildIdentity& identity,
              const std::vector<handlers::Route>& routes);

}  // namespace cppfpm::server
