#pragma once
// The pool's scoreboard: counters in one shared anonymous mapping made by
// the master before it forks, written by children with atomics, read by
// the master (pm decisions) and by any child (status page). php-fpm's
// fpm_scoreboard, with a slot per worker thread under each child.
//
// A child is *active* while at least one of its worker threads serves a
// request, *idle* otherwise; pm.* counts and the status page use this.
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cppfpm::pool {

enum class ChildState : int { free = 0, idle, active, finishing };

// A thread slot's text is rewritten by its child while other processes
// (the master's status page, the watchdog) copy it; `seq` tells them a torn
// copy. The bytes themselves go through relaxed atomics so that this
// seqlock is well-defined C++ (and not a data race to TSan); on x86 they are
// the same plain moves memcpy would make.
inline void store_text(char* dest, std::size_t size, std::string_view text) {
  const std::size_t n = text.size() < size - 1 ? text.size() : size - 1;
  for (std::size_t i = 0; i < n; ++i)
    std::atomic_ref<char>(dest[i]).store(text[i], std::memory_order_relaxed);
  std::atomic_ref<char>(dest[n]).store('\0', std::memory_order_relaxed);
}

// The text up to its NUL (or `size` bytes), copied byte by byte as above.
inline std::string load_text(const char* src, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    char c = std::atomic_ref<char>(const_cast<char&>(src[i])).load(std::memory_order_relaxed);
    if (c == '\0') break;
    out.push_back(c);
  }
  return out;
}

struct ThreadSlot {
  std::atomic<std::int64_t> request_start_us{0};  // 0: not serving
  std::atomic<std::uint32_t> seq{0};              // odd while the text below is being written
  char script[200] = {0};
  char method[12] = {0};
  char query[200] = {0};
  // The thread's last finished request (its text stays above until the
  // next one starts): when it ended, the CPU the thread spent on it
  // (CLOCK_THREAD_CPUTIME_ID), and the child's peak resident set size then.
  std::atomic<std::int64_t> last_end_us{0};
  std::atomic<std::int64_t> last_cpu_us{0};
  std::atomic<std::int64_t> last_memory{0};
  // A session lock held by a request of this child (issue 12): the owner
  // token of its value and its key, so the master can release it when the
  // child is killed. An entry per thread, claimed by whichever request
  // takes a lock (each request holds at most one): 0 free, 1 being
  // written, else the token.
  std::atomic<std::uint64_t> lock_token{0};
  char lock_key[251] = {0};
  // 1 once the lock is the request's (its add succeeded), 0 while it is
  // still asked for: other children see who waits for a lock they hold.
  std::atomic<std::uint8_t> lock_held{0};
};

struct HeldLock {
  std::string key;
  std::uint64_t token;
};

struct ChildSlot {
  std::atomic<pid_t> pid{0};
  std::atomic<int> state{0};
  std::atomic<std::int64_t> started_us{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<int> busy_threads{0};
  std::atomic<std::int64_t> last_request_us{0};  // duration of the last finished request
  std::atomic<std::int64_t> last_request_end_us{0};
  std::atomic<std::int64_t> idle_since_us{0};
  // Requests inside this child that wait for a worker thread (a kept
  // connection's request behind busy threads, or a connection taken from
  // the backlog while saturated): the status page adds them to the
  // kernel's listen queue, since for the client both are the same wait.
  std::atomic<int> waiting{0};
};

struct PoolCounters {
  std::atomic<std::int64_t> start_us{0};
  std::atomic<std::uint64_t> accepted_conn{0};
  std::atomic<std::uint64_t> max_listen_queue{0};
  std::atomic<int> max_active_processes{0};
  std::atomic<std::uint64_t> max_children_reached{0};
  std::atomic<std::uint64_t> slow_requests{0};
  // Set by the master on a reload before it tells the children to finish:
  // they hand their kept connections to the next generation (server/
  // fastcgi/handoff.h) instead of closing them.
  std::atomic<int> handing_over{0};
};

// One pool's view of the mapping.
class Scoreboard {
 public:
  // Maps room for `max_children` children of `threads` worker threads each.
  Scoreboard(int max_children, int threads);
  ~Scoreboard();
  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;

  PoolCounters& pool() { return *pool_; }
  int capacity() const { return max_children_; }
  int threads() const { return threads_; }
  ChildSlot& child(int index);
  ThreadSlot& thread(int child_index, int thread_index);

  // Master: claims a free slot for a new child (-1 when full) / frees it.
  int claim(pid_t pid, std::int64_t now_us);
  void release(int index);
  int find(pid_t pid) const;

  // Child: request bookkeeping for one worker thread.
  void request_started(int child_index, int thread_index, std::int64_t now_us,
                       const std::string& method, const std::string& script,
                       const std::string& query);
  void request_finished(int child_index, int thread_index, std::int64_t now_us,
                        std::int64_t cpu_us = 0, std::int64_t memory = 0);
  // Child: a pool page (status, ping) answered by the event loop thread,
  // outside any worker thread. php-fpm serves its status page as a request,
  // so the child is active while it does and the request is counted.
  void page_started(int child_index);
  void page_finished(int child_index, std::int64_t started_us, std::int64_t now_us);

  // Child: a session lock about to be asked for / released (the entry
  // lock_taken returned; -1 when every entry was in use).
  int lock_taken(int child_index, std::string_view key, std::uint64_t token);
  void lock_acquired(int child_index, int entry);
  void lock_released(int child_index, int entry);
  // Child: how the other children stand to the lock `key`: how many of
  // their requests ask for it, and whether one of them holds it.
  struct LockContention {
    int waiting = 0;
    bool held = false;
  };
  LockContention lock_contention(int child_index, std::string_view key);
  // Master: the locks a child recorded (read once it is dead).
  std::vector<HeldLock> held_locks(int child_index);

  struct Counts {
    int idle = 0, active = 0, total = 0;
  };
  Counts counts() const;
  // Sum of every live child's `waiting`.
  int waiting() const;

 private:
  void child_busy(int child_index);
  void child_done(int child_index, std::int64_t started_us, std::int64_t now_us);

  int max_children_;
  int threads_;
  std::size_t size_ = 0;
  void* base_ = nullptr;
  PoolCounters* pool_ = nullptr;
  ChildSlot* children_ = nullptr;
  ThreadSlot* threads_base_ = nullptr;
};

std::int64_t now_us();  // CLOCK_REALTIME in microseconds

}  // namespace cppfpm::pool
