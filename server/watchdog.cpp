#include "server/watchdog.h"

#include <execinfo.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <thread>

#include <spdlog/spdlog.h>

#include "server/log.h"

namespace cppfpm::server {
namespace {

// The worker thread's stack is captured by that thread itself, in a signal
// handler, into this buffer; the loop thread waits for it and writes it out.
constexpr int kMaxFrames = 64;
void* g_frames[kMaxFrames];
std::atomic<int> g_frame_count{-1};
int stack_signal() {
  return SIGRTMIN + 3;
}

extern "C" void capture_stack(int) {
  int n = ::backtrace(g_frames, kMaxFrames);
  g_frame_count.store(n, std::memory_order_release);
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "[%d-%b-%Y %H:%M:%S]", &tm);
  return buf;
}

}  // namespace

Watchdog::Watchdog(const pool::PoolConfig& config, pool::Scoreboard* board, int slot,
                   WorkerPool& workers)
    : config_(config), board_(board), slot_(slot), workers_(workers) {}

void Watchdog::install_stack_capture() {
  void* warm[2];
  ::backtrace(warm, 2);  // loads the unwinder now, outside any signal handler
  struct sigaction sa {};
  sa.sa_handler = capture_stack;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(stack_signal(), &sa, nullptr);
}

std::string Watchdog::describe(int index) const {
  if (!board_ || slot_ < 0) return "?";
  const pool::ThreadSlot& t = board_->thread(slot_, index);
  const std::string script = pool::load_text(t.script, sizeof t.script);
  const std::string query = pool::load_text(t.query, sizeof t.query);
  return "script '" + script + "' (request: \"" + pool::load_text(t.method, sizeof t.method) + " " +
         script + (query.empty() ? std::string() : "?" + query) + "\")";
}

void Watchdog::check() {
  auto slow = config_.request_slowlog_timeout.count() * 1000000;
  auto terminate_after = config_.request_terminate_timeout.count() * 1000000;
  if (slow <= 0 && terminate_after <= 0) return;
  std::int64_t now = pool::now_us();
  for (int i = 0; i < workers_.size(); ++i) {
    WorkerPool::Slot& s = workers_.slot(i);
    std::int64_t started = s.started_us.load();
    if (started == 0) continue;
    std::int64_t elapsed = now - started;
    if (terminate_after > 0 && elapsed >= terminate_after) {
      terminate(i, elapsed);
      continue;
    }
    if (slow > 0 && elapsed >= slow && !s.slow_logged.exchange(true)) log_slow(i, elapsed);
  }
}

void Watchdog::log_slow(int index, std::int64_t elapsed_us) {
  if (board_) board_->pool().slow_requests.fetch_add(1);
  spdlog::warn("[pool {}] child {}, {} executing too slow ({:.6f} sec), logging", config_.name,
               ::getpid(), describe(index), elapsed_us / 1e6);
  if (config_.slowlog.empty()) return;
  int fd = open_pool_log(config_.slowlog);
  if (fd < 0) {
    spdlog::error("[pool {}] open(\"{}\") failed for slowlog: {} ({})", config_.name,
                  config_.slowlog, std::strerror(errno), errno);
    return;
  }
  // Built with += : GCC 12 at -O3 warns (-Wrestrict, a false positive, GCC
  // PR 105329) on a literal + std::string chain, which fails a Release build.
  std::string head = "\n";
  head += timestamp();
  head += "  [pool " + config_.name + "] pid " + std::to_string(::getpid()) + "\n";
  head += "script_filename = ";
  head += board_ ? pool::load_text(board_->thread(slot_, index).script,
                                   sizeof(pool::ThreadSlot::script))
                 : std::string("?");
  head += "\nrequest duration = " + std::to_string(elapsed_us / 1000) + " ms\n";
  [[maybe_unused]] auto w = ::write(fd, head.data(), head.size());
  g_frame_count = -1;
  if (::pthread_kill(workers_.slot(index).thread, stack_signal()) == 0) {
    for (int waited = 0; waited < 200 && g_frame_count.load(std::memory_order_acquire) < 0;
         ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    int n = g_frame_count.load(std::memory_order_acquire);
    if (n > 0) ::backtrace_symbols_fd(g_frames, n, fd);
  }
  ::close(fd);
}

void Watchdog::terminate(int index, std::int64_t elapsed_us) {
  WorkerPool::Slot& s = workers_.slot(index);
  spdlog::warn("[pool {}] child {}, {} execution timed out ({:.6f} sec), terminating", config_.name,
               ::getpid(), describe(index), elapsed_us / 1e6);
  int fd = s.fd.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  if (board_ && slot_ >= 0) board_->request_finished(slot_, index, pool::now_us());
  workers_.replace(index);
  if (on_terminated_) on_terminated_();
}

}  // namespace cppfpm::server
