// The queue half of the event loop: a whole request head is judged by
// Admission (serve now, wait for a thread, or answer 503); waiting heads are
// handed to the worker threads in order as threads free, and one that has
// waited pm.queue_timeout is answered 503 instead. The 503 is written here,
// without libfcgi and without a worker thread: the head is consumed, the
// answer (Status: 503, Retry-After: 1) goes out with FCGI_END_REQUEST, and a
// kept connection whose request is whole waits for the next one; otherwise
// it is closed once whatever body follows has been read and dropped.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

#include "server/fastcgi/event_loop.h"

namespace cppfpm::server {
namespace {

constexpr std::size_t kHeader = 8;
constexpr int kStdout = 6;      // FCGI_STDOUT
constexpr int kEndRequest = 3;  // FCGI_END_REQUEST
constexpr int kOverloaded = 2;  // FCGI_OVERLOADED (FastCGI 1.0 section 5.5)
// A 503 whose request body is still coming: read and dropped this long at
// most before the close (nginx's lingering close is of the same order).
constexpr auto kLinger = std::chrono::seconds(2);

void append_record(std::string& out, int type, int id, std::string_view content) {
  std::size_t padding = (8 - content.size() % 8) % 8;
  out += static_cast<char>(1);
  out += static_cast<char>(type);
  out += static_cast<char>((id >> 8) & 0xff);
  out += static_cast<char>(id & 0xff);
  out += static_cast<char>((content.size() >> 8) & 0xff);
  out += static_cast<char>(content.size() & 0xff);
  out += static_cast<char>(padding);
  out += '\0';
  out += content;
  out.append(padding, '\0');
}

// The whole answer: the CGI response on FCGI_STDOUT, its end, and
// FCGI_END_REQUEST with FCGI_OVERLOADED (nginx passes the 503 on as it is).
std::string unavailable_records(int id) {
  static const std::string cgi =
      "Status: 503 Service Unavailable\r\n"
      "Retry-After: 1\r\n"
      "Content-type: text/plain; charset=UTF-8\r\n"
      "\r\n"
      "Service Unavailable: every worker is busy. Retry in a second.\n";
  std::string out;
  out.reserve(cgi.size() + 4 * kHeader + 8);
  append_record(out, kStdout, id, cgi);
  append_record(out, kStdout, id, {});
  const char end[8] = {0, 0, 0, 0, static_cast<char>(kOverloaded), 0, 0, 0};
  append_record(out, kEndRequest, id, std::string_view(end, sizeof(end)));
  return out;
}

// Reads and drops exactly `n` bytes the screen has already seen in the socket.
bool consume(int fd, std::size_t n) {
  char sink[16384];
  while (n > 0) {
    ssize_t got = ::recv(fd, sink, std::min(n, sizeof(sink)), MSG_DONTWAIT);
    if (got <= 0) return false;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

EventLoop::HeadFacts EventLoop::facts_of(const ScreenResult& verdict) {
  return HeadFacts{.request_id = verdict.request_id,
                   .keep_conn = verdict.keep_conn,
                   .head_bytes = verdict.head_bytes,
                   .stdin_complete = verdict.stdin_complete,
                   .script = verdict.script_name};
}

void EventLoop::admit_request(Connection* c, const ScreenResult& verdict) {
  auto now = std::chrono::steady_clock::now();
  switch (admission_.admit(c->admission)) {
    case Admission::Admit::serve:
      host_.dispatch(c);
      return;
    case Admission::Admit::queue:
      queue_.push_back(QueuedHead{c, now, facts_of(verdict)});
      queue_waiting_.store(true, std::memory_order_relaxed);
      return;
    case Admission::Admit::shed:
      answer_unavailable(c, facts_of(verdict), shed_full, now);
      return;
  }
}

void EventLoop::run_queue(TimePoint now) {
  while (!queue_.empty() && admission_.thread_free()) {
    Connection* c = queue_.front().connection;
    queue_.pop_front();
    admission_.taken(c->admission);
    host_.dispatch(c);
  }
  const auto timeout = options_.queue_timeout;
  while (timeout.count() > 0 && !queue_.empty() && now - queue_.front().since >= timeout) {
    QueuedHead expired = std::move(queue_.front());
    queue_.pop_front();
    admission_.expired(expired.connection->admission);
    answer_unavailable(expired.connection, expired.head, shed_timeout, now);
  }
  queue_waiting_.store(!queue_.empty(), std::memory_order_relaxed);
  for (auto it = lingering_.begin(); it != lingering_.end();) {
    Connection* c = it->first;
    if (now < it->second) {
      ++it;
      continue;
    }
    it = lingering_.erase(it);
    close_connection(c);
  }
}

std::optional<std::chrono::milliseconds> EventLoop::queue_deadline(TimePoint now) const {
  using std::chrono::milliseconds;
  std::optional<milliseconds> next;
  auto consider = [&](TimePoint when) {
    auto left = std::max(milliseconds(0), std::chrono::ceil<milliseconds>(when - now));
    if (!next || left < *next) next = left;
  };
  if (options_.queue_timeout.count() > 0 && !queue_.empty())
    consider(queue_.front().since + options_.queue_timeout);
  for (const auto& [c, until] : lingering_) consider(until);
  return next;
}

void EventLoop::answer_unavailable(Connection* c, const HeadFacts& head, ShedKind kind,
                                   TimePoint now) {
  std::string peer = ClientFilter::peer_text(c->peer);
  std::string what = head.script.empty() ? std::string("a request") : head.script;
  std::string line = kind == shed_full
                         ? "[pool " + options_.pool_name + "] server reached pm.max_children (" +
                               std::to_string(options_.max_children) +
                               ") with every thread busy and pm.queue_per_child (" +
                               std::to_string(options_.queue_per_child) +
                               ") requests queued: answered 503 to " + what + " from " + peer +
                               ", consider raising pm.max_children"
                         : "[pool " + options_.pool_name + "] " + what + " from " + peer +
                               " waited " + std::to_string(options_.queue_timeout.count()) +
                               " ms in the queue for a thread (pm.queue_timeout): answered 503";
  for (const std::string& text : slow_log_.event(kind, std::move(line), now))
    spdlog::warn("{}", text);

  int fd = c->fd.get();
  // The head (and the empty FCGI_STDIN that ends a request without a body)
  // is in the socket: the screen saw it there.
  std::size_t head_bytes = head.head_bytes + (head.stdin_complete ? kHeader : 0);
  std::string answer = unavailable_records(head.request_id);
  if (!consume(fd, head_bytes) ||
      ::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL) !=
          static_cast<ssize_t>(answer.size())) {
    close_connection(c);
    return;
  }
  c->requests.fetch_add(1);
  if (!head.stdin_complete) return linger(c, now);
  if (!head.keep_conn) return close_connection(c);
  if (!rearm(c)) heads_.done(c);  // only the key is used: c is gone
}

// Half-closes and reads what still comes (the body), so that the close
// sends no reset that could overtake the answer; closed at the peer's EOF
// or after kLinger.
void EventLoop::linger(Connection* c, TimePoint now) {
  ::shutdown(c->fd.get(), SHUT_WR);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.ptr = c;
  int fd = c->fd.get();
  c->edge_armed = false;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0 &&
      (errno != ENOENT || ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)) {
    close_connection(c);
    return;
  }
  c->lingering = true;
  lingering_[c] = now + kLinger;
}

void EventLoop::drain_lingering(Connection* c) {
  char sink[16384];
  // Level-triggered: a body still arriving brings the loop back here.
  for (int reads = 0; reads < 16; ++reads) {
    ssize_t n = ::recv(c->fd.get(), sink, sizeof(sink), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    lingering_.erase(c);  // EOF, or the connection broke
    close_connection(c);
    return;
  }
}

}  // namespace cppfpm::server
