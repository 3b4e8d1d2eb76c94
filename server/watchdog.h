#pragma once
// request_slowlog_timeout and request_terminate_timeout for one child, run
// from the event loop's 250 ms tick (php-fpm's fpm_request_check).
// A slow request gets one slowlog entry with the native stack of the worker
// thread serving it; a request past the terminate timeout has its
// connection shut down (nginx sees it closed and answers 502) and its
// thread replaced, so the child's capacity comes back while the other
// requests in flight carry on.
#include <chrono>
#include <functional>
#include <string>

#include "pool/config.h"
#include "pool/scoreboard.h"
#include "server/fastcgi/worker_pool.h"

namespace cppfpm::server {

class Watchdog {
 public:
  Watchdog(const pool::PoolConfig& config, pool::Scoreboard* board, int slot, WorkerPool& workers);
  // Runs after a request was given up on (its capacity is free again).
  void on_terminated(std::function<void()> f) { on_terminated_ = std::move(f); }
  // Installs the stack-capture signal handler; call once in the child.
  static void install_stack_capture();
  void check();

 private:
  void log_slow(int index, std::int64_t elapsed_us);
  void terminate(int index, std::int64_t elapsed_us);
  std::string describe(int index) const;

  const pool::PoolConfig& config_;
  pool::Scoreboard* board_;
  int slot_;
  WorkerPool& workers_;
  std::function<void()> on_terminated_;
};

}  // namespace cppfpm::server
