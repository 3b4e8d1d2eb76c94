// The accepting half of the event loop: which listening sockets are in the
// epoll set (as Admission decides), the saturated case, pm.status_listen,
// and the back-off when accept4() runs out of file descriptors.
#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "server/fastcgi/event_loop.h"

namespace cppfpm::server {
namespace {

constexpr int kMaxAcceptsPerTurn = 64;
// Out of file descriptors, the listening socket stays readable: polled, it
// would wake the loop at once, every turn. nginx turns accept events off and
// retries after its accept_mutex_delay (500 ms); so do we.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(500);

void set_socket_timeouts(int fd) {
  // A worker reads the body and writes the answer with blocking calls; these
  // bound how long a stalled peer can hold it.
  timeval rcv{10, 0};
  timeval snd{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

bool backlog_nonempty(int listen_fd) {
  pollfd backlog{listen_fd, POLLIN, 0};
  return ::poll(&backlog, 1, 0) == 1 && (backlog.revents & POLLIN);
}

}  // namespace

// The screen peeks at a head and reads none of it until it is whole, so
// the whole head must fit in the socket's receive window: with the default
// buffer (tcp_rmem, about 64 KiB of window on older kernels, 128 KiB on
// newer ones) a head between that and max_head_bytes could never be seen
// whole and waited for the head timeout. Accepted sockets inherit the
// listener's buffer (and the window clamp computed from it), so it is set
// there, once: twice max_head_bytes leaves room for the kernel's per-segment
// overhead. The kernel caps it at net.core.rmem_max and doubles it.
void EventLoop::size_receive_buffer() {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      (address.ss_family != AF_INET && address.ss_family != AF_INET6))
    return;  // a unix socket queues what its sender may buffer
  int want = static_cast<int>(options_.limits.max_head_bytes * 2);
  int got = 0;
  socklen_t got_length = sizeof(got);
  if (::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)) != 0 ||
      ::getsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &got, &got_length) != 0) {
    spdlog::warn("setsockopt(SO_RCVBUF) failed: {} ({})", std::strerror(errno), errno);
    return;
  }
  if (got < want)
    spdlog::warn(
        "the listening socket's receive buffer is {} bytes (net.core.rmem_max): a request head "
        "of more than about {} bytes waits for the head timeout; raise net.core.rmem_max to {}",
        got, got / 2, want);
}

void EventLoop::add_status_listener(int fd) {
  status_fd_ = fd;
  set_polled(status_fd_, true, status_polled_, "pm.status_listen");
}

// Also when requests wait in the loop's queue: a thread is free for one.
void EventLoop::resume_accepting() {
  if (paused_.load(std::memory_order_relaxed) || queue_waiting_.load(std::memory_order_relaxed))
    wake();
}

void EventLoop::set_polled(int fd, bool want, bool& polled, const char* what) {
  if (fd < 0 || want == polled) return;
  if (want) {
    epoll_event ev{};
    // EPOLLEXCLUSIVE: every child waits on the same inherited socket; wake
    // one of them per connection, not all (thundering herd). Such an fd
    // cannot be modified, only removed and added again.
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = static_cast<std::uint64_t>(fd);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      spdlog::error("epoll_ctl(ADD, {}) failed: {} ({})", what, std::strerror(errno), errno);
      return;
    }
  } else if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0) {
    spdlog::error("epoll_ctl(DEL, {}) failed: {} ({})", what, std::strerror(errno), errno);
  }
  polled = want;
}

// Adds or removes the listening sockets to match admission and state. A
// finishing child takes no new status connection either (the others do);
// left in the set, a waiting one would wake this loop without end.
void EventLoop::update_listening() {
  bool open = !graceful_ && !stop_now_ && !backing_off(std::chrono::steady_clock::now());
  set_polled(status_fd_, open, status_polled_, "pm.status_listen");
  set_polled(listen_fd_, open && (admission_.may_accept() || admission_.may_shed()), listening_,
             "listen");
  paused_ = !listening_;
}

// Full (Admission::may_shed), a connection is still taken, to be answered
// 503 by the loop once its head is in, rather than left to time out in the
// backlog.
void EventLoop::accept_all() {
  for (int i = 0; i < kMaxAcceptsPerTurn; ++i) {
    bool pool = admission_.may_accept();
    if ((!pool && !admission_.may_shed()) || backing_off(std::chrono::steady_clock::now())) {
      update_listening();
      return;
    }
    if (!accept_one(listen_fd_, pool ? Kind::pool : Kind::shed)) return;
  }
}

// Every thread busy, the listening socket out of the epoll set: the backlog
// is polled, and Admission says when a connection is taken anyway.
void EventLoop::accept_overflow(TimePoint now) {
  bool waiting = !listening_ && !graceful_ && !stop_now_ && !backing_off(now) &&
                 admission_.overflow_allowed() && backlog_nonempty(listen_fd_);
  if (admission_.overflow_due(waiting, now)) accept_one(listen_fd_, Kind::overflow);
}

void EventLoop::accept_status() {
  for (int i = 0; i < kMaxAcceptsPerTurn && !graceful_; ++i) {
    if (backing_off(std::chrono::steady_clock::now())) return update_listening();
    if (!accept_one(status_fd_, Kind::status_only)) return;
  }
}

// Logged once per episode: the episode ends at the next accepted connection.
void EventLoop::back_off_accepting(int error) {
  auto now = std::chrono::steady_clock::now();
  backoff_until_ = now + kAcceptBackoff;
  if (!fd_shortage_since_) {
    fd_shortage_since_ = now;
    spdlog::error(
        "accept4() failed: {} ({}); not accepting for {} ms at a time until descriptors are free "
        "(consider raising rlimit_files)",
        std::strerror(error), error, kAcceptBackoff.count());
  }
  update_listening();
}

bool EventLoop::accept_one(int listen_fd, Kind kind) {
  auto connection = std::make_unique<Connection>();
  socklen_t len = sizeof(connection->peer);
  int fd = -1;
  do {
    fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&connection->peer), &len, SOCK_CLOEXEC);
  } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
  if (fd < 0) {
    int error = errno;
    if (error == EMFILE || error == ENFILE) back_off_accepting(error);
    // EINVAL: the master shut the socket down for a stop, and this child's
    // SIGQUIT or SIGTERM, sent before, is about to be read.
    else if (error != EAGAIN && error != EWOULDBLOCK && error != EINVAL)
      spdlog::warn("accept4() failed: {} ({})", std::strerror(error), error);
    return false;
  }
  connection->fd.reset(fd);
  auto now = std::chrono::steady_clock::now();
  connection->accepted_at = now;
  if (fd_shortage_since_) {
    auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(now - *fd_shortage_since_);
    spdlog::info("accepting connections again after {} ms short of file descriptors",
                 lasted.count());
    fd_shortage_since_.reset();
  }
  if (!filter_.allows(connection->peer)) {
    spdlog::warn("Connection disallowed: IP address '{}' has been dropped (listen.allowed_clients)",
                 ClientFilter::peer_text(connection->peer));
    return true;
  }
  if (kind != Kind::status_only) make_room_for_head(now);
  admission_.accepted(connection->admission, kind, now);
  if (kind != Kind::status_only) {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    host_.accepted();
  }
  set_socket_timeouts(fd);
  Connection* raw = connection.get();
  if (!register_connection(std::move(connection), "a new connection")) return true;
  // pm.status_listen probes count in no capacity, and in no cap either.
  if (kind != Kind::status_only) heads_.accepted(raw, now);
  return true;
}

bool EventLoop::register_connection(std::unique_ptr<Connection> connection, const char* what) {
  Connection* raw = connection.get();
  const int fd = raw->fd.get();
  {
    std::lock_guard lock(mutex_);
    connections_.emplace(raw, std::move(connection));
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT | EPOLLRDHUP;
  ev.data.ptr = raw;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0) return true;
  spdlog::error("epoll_ctl(ADD) of {} failed: {} ({})", what, std::strerror(errno), errno);
  close_connection(raw);
  return false;
}

}  // namespace cppfpm::server
