// The status page's numbers: a consistent read of the shared scoreboard
// (pool/scoreboard.h) and of the listening socket's queue.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <utility>

#include "pool/status.h"

namespace cppfpm::pool {
namespace {

constexpr std::int64_t kMicros = 1000000;
constexpr int kSeqlockAttempts = 1000;

struct ThreadRequest {
  std::int64_t start_us = 0;
  std::string method, script, query;
};

// A thread slot's text is written between two increments of `seq`, so a
// copy taken while `seq` was even and stayed unchanged is one request's.
// `request_start_us` is checked again too: the thread may have moved on.
bool read_thread(ThreadSlot& t, ThreadRequest& out) {
  for (int attempt = 0; attempt < kSeqlockAttempts; ++attempt) {
    std::uint32_t before = t.seq.load(std::memory_order_acquire);
    if (before & 1u) continue;
    std::int64_t start = t.request_start_us.load(std::memory_order_acquire);
    std::string method = load_text(t.method, sizeof t.method);
    std::string script = load_text(t.script, sizeof t.script);
    std::string query = load_text(t.query, sizeof t.query);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (t.seq.load(std::memory_order_relaxed) != before || t.request_start_us.load() != start)
      continue;
    out = {start, std::move(method), std::move(script), std::move(query)};
    return true;
  }
  return false;
}

const char* state_name(int state) {
  if (state == static_cast<int>(ChildState::active)) return "Running";
  if (state == static_cast<int>(ChildState::finishing)) return "Finishing";
  return "Idle";
}

StatusSnapshot::Process read_child(Scoreboard& board, int index, int state, std::int64_t now) {
  ChildSlot& c = board.child(index);
  StatusSnapshot::Process p;
  p.pid = c.pid.load();
  p.state = state_name(state);
  p.start_unix = c.started_us.load() / kMicros;
  p.requests = c.requests.load();

  // The oldest request in flight, whatever the state says: a finishing
  // child may still be serving, and the state flips after the threads.
  ThreadRequest shown, candidate;
  bool in_flight = false;
  for (int t = 0; t < board.threads(); ++t) {
    if (!read_thread(board.thread(index, t), candidate) || candidate.start_us == 0) continue;
    if (!in_flight || candidate.start_us < shown.start_us) shown = std::move(candidate);
    in_flight = true;
  }
  bool known = in_flight;
  if (in_flight) {
    p.request_duration_us = now > shown.start_us ? now - shown.start_us : 0;
  } else {
    p.request_duration_us = c.last_request_us.load();
    // The thread that finished last still holds its request's text.
    int last = -1;
    std::int64_t last_end = 0;
    for (int t = 0; t < board.threads(); ++t) {
      std::int64_t end = board.thread(index, t).last_end_us.load();
      if (end > last_end) {
        last_end = end;
        last = t;
      }
    }
    if (last >= 0) {
      ThreadSlot& slot = board.thread(index, last);
      known = read_thread(slot, shown);
      std::int64_t cpu = slot.last_cpu_us.load();
      if (p.request_duration_us > 0)
        p.last_request_cpu =
            100.0 * static_cast<double>(cpu) / static_cast<double>(p.request_duration_us);
      p.last_request_memory = slot.last_memory.load();
    }
  }
  if (known) {
    p.request_method = shown.method;
    p.request_uri = shown.script;
    p.script = shown.script;
    p.query = shown.query;
  }
  return p;
}

// Linux, for a TCP socket in LISTEN state: tcpi_unacked is the accept
// queue's current length and tcpi_sacked its limit (the listen backlog).
void read_listen_queue(int fd, StatusSnapshot& s) {
  if (fd < 0) return;
  sockaddr_storage addr{};
  socklen_t addr_len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) return;
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return;
  tcp_info info{};
  socklen_t info_len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_len) != 0) return;
  if (info.tcpi_state != TCP_LISTEN) return;
  s.listen_queue = info.tcpi_unacked;
  s.listen_queue_len = info.tcpi_sacked;
}

std::uint64_t raise_to(std::atomic<std::uint64_t>& target, std::uint64_t value) {
  std::uint64_t seen = target.load();
  while (seen < value && !target.compare_exchange_weak(seen, value)) {
  }
  return seen < value ? value : seen;
}

}  // namespace

StatusSnapshot take_snapshot(Scoreboard& board, const std::string& pool, std::string_view pm,
                             int listen_fd) {
  StatusSnapshot s;
  std::int64_t now = now_us();
  PoolCounters& counters = board.pool();
  s.pool = pool;
  s.process_manager = std::string(pm);
  s.start_unix = counters.start_us.load() / kMicros;
  s.now_unix = now / kMicros;
  s.accepted_conn = counters.accepted_conn.load();
  read_listen_queue(listen_fd, s);
  s.listen_queue += static_cast<std::uint64_t>(board.waiting());
  s.max_listen_queue = raise_to(counters.max_listen_queue, s.listen_queue);
  // One read of each child's state serves both the counts and the list,
  // so the two agree.
  for (int i = 0; i < board.capacity(); ++i) {
    int state = board.child(i).state.load();
    if (state == static_cast<int>(ChildState::free)) continue;
    if (state == static_cast<int>(ChildState::idle)) ++s.idle;
    if (state == static_cast<int>(ChildState::active)) ++s.active;
    s.processes.push_back(read_child(board, i, state, now));
  }
  s.total = static_cast<int>(s.processes.size());
  s.max_active = counters.max_active_processes.load();
  s.max_children_reached = counters.max_children_reached.load();
  s.slow_requests = counters.slow_requests.load();
  return s;
}

}  // namespace cppfpm::pool
