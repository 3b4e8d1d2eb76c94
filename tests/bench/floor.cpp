// The benchmark floor: a FastCGI responder that does no work.
//
// One process, one epoll loop per thread on one shared listening socket,
// non-blocking sockets. Every request gets the same small CGI answer, so the
// rate measured through nginx with it behind is the most any backend can
// reach on this machine: what remains is the cost of nginx, the loopback
// and the FastCGI framing.
//
//   floor PORT [THREADS]   listens on 127.0.0.1:PORT until SIGINT/SIGTERM,
//                          with THREADS event loops (1)
//
// Written from the FastCGI 1.0 specification (Open Market, 1996); section
// numbers below refer to it. Built as the CMake target bench_floor
// (tests/CMakeLists.txt), which tests/bench/run builds.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// Record types and constants (spec 8).
constexpr std::uint8_t kVersion1 = 1;
constexpr std::uint8_t kBeginRequest = 1;
constexpr std::uint8_t kAbortRequest = 2;
constexpr std::uint8_t kEndRequest = 3;
constexpr std::uint8_t kParams = 4;
constexpr std::uint8_t kStdin = 5;
constexpr std::uint8_t kStdout = 6;
constexpr std::uint8_t kGetValues = 9;
constexpr std::uint8_t kGetValuesResult = 10;
constexpr std::uint8_t kUnknownType = 11;
constexpr std::uint8_t kKeepConn = 1;         // FCGI_BEGIN_REQUEST flags
constexpr std::uint8_t kRequestComplete = 0;  // protocolStatus values
constexpr std::uint8_t kCantMultiplex = 1;
constexpr std::size_t kHeaderLen = 8;

constexpr std::string_view kAnswer =
    "Content-type: text/html; charset=UTF-8\r\n"
    "\r\n"
    "floor: a FastCGI responder that does no work";

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) {
  g_stop = 1;
}

void die(const char* what) {
  std::fprintf(stderr, "floor: %s failed: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// One record header (spec 3.3): version, type, requestId, contentLength,
// paddingLength, reserved; multi-byte fields are big-endian.
void append_header(std::string& out, std::uint8_t type, std::uint16_t id, std::uint16_t len) {
  const char h[kHeaderLen] = {static_cast<char>(kVersion1),
                              static_cast<char>(type),
                              static_cast<char>(id >> 8),
                              static_cast<char>(id & 0xff),
                              static_cast<char>(len >> 8),
                              static_cast<char>(len & 0xff),
                              0,  // no padding
                              0};
  out.append(h, kHeaderLen);
}

void append_end_request(std::string& out, std::uint16_t id, std::uint8_t protocol_status) {
  append_header(out, kEndRequest, id, 8);
  const char body[8] = {0, 0, 0, 0, static_cast<char>(protocol_status), 0, 0, 0};
  out.append(body, sizeof body);
}

struct Connection {
  int fd = -1;
  std::string in;
  std::size_t consumed = 0;  // bytes of `in` already parsed
  std::string out;
  std::size_t sent = 0;  // bytes of `out` already written
  bool active = false;   // a request is open on this connection
  std::uint16_t request_id = 0;
  bool keep_conn = false;
  bool close_after_write = false;
  bool want_write = false;  // EPOLLOUT registered
};

class Floor {
 public:
  // Each loop has its own epoll set; EPOLLEXCLUSIVE wakes one loop, not
  // every loop, when a connection arrives.
  explicit Floor(int listen_fd) : listen_fd_(listen_fd) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) die("epoll_create1()");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = listen_fd_;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) < 0) die("epoll_ctl()");
  }

  ~Floor() {
    for (auto& [fd, c] : conns_) ::close(fd);
    ::close(epoll_fd_);
  }

  Floor(const Floor&) = delete;
  Floor& operator=(const Floor&) = delete;

  void run() {
    epoll_event events[256];
    while (!g_stop) {
      int n = ::epoll_wait(epoll_fd_, events, 256, 1000);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait()");
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == listen_fd_) {
          accept_all();
          continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        Connection& c = it->second;
        bool alive = true;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) alive = on_readable(c);
        if (alive && (events[i].events & EPOLLOUT)) alive = flush(c);
        if (!alive) drop(fd);
      }
    }
  }

 private:
  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        std::fprintf(stderr, "floor: accept4() failed: %s\n", std::strerror(errno));
        return;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
        ::close(fd);
        continue;
      }
      conns_[fd].fd = fd;
    }
  }

  void drop(int fd) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_.erase(fd);
  }

  // Reads what is there, answers every complete request, writes. False
  // when the connection is finished.
  bool on_readable(Connection& c) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return false;  // peer closed
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    if (!parse(c)) return false;
    return flush(c);
  }

  // Walks the complete records in c.in. False on a protocol error.
  bool parse(Connection& c) {
    while (c.in.size() - c.consumed >= kHeaderLen) {
      const auto* h = reinterpret_cast<const unsigned char*>(c.in.data() + c.consumed);
      if (h[0] != kVersion1) return false;
      const std::uint8_t type = h[1];
      const std::uint16_t id = static_cast<std::uint16_t>(h[2] << 8 | h[3]);
      const std::size_t len = static_cast<std::size_t>(h[4] << 8 | h[5]);
      const std::size_t total = kHeaderLen + len + h[6];
      if (c.in.size() - c.consumed < total) break;
      const unsigned char* body = h + kHeaderLen;
      c.consumed += total;
      on_record(c, type, id, body, len);
    }
    // Keep the unparsed tail only.
    if (c.consumed == c.in.size()) {
      c.in.clear();
      c.consumed = 0;
    } else if (c.consumed > 65536) {
      c.in.erase(0, c.consumed);
      c.consumed = 0;
    }
    return true;
  }

  void on_record(Connection& c, std::uint8_t type, std::uint16_t id, const unsigned char* body,
                 std::size_t len) {
    if (id == 0) {  // a management record (spec 4.2)
      if (type == kGetValues) {
        // We recognise none of the asked variables: an empty result is a
        // valid answer (spec 4.1).
        append_header(c.out, kGetValuesResult, 0, 0);
      } else {
        append_header(c.out, kUnknownType, 0, 8);
        const char unknown[8] = {static_cast<char>(type), 0, 0, 0, 0, 0, 0, 0};
        c.out.append(unknown, sizeof unknown);
      }
      return;
    }
    switch (type) {
      case kBeginRequest:
        if (len < 8) return;
        if (c.active && id != c.request_id) {
          // One request at a time per connection (spec 5.1, FCGI_MPXS_CONNS 0).
          append_end_request(c.out, id, kCantMultiplex);
          return;
        }
        c.active = true;
        c.request_id = id;
        c.keep_conn = (body[2] & kKeepConn) != 0;
        return;
      case kParams:
        return;  // the floor reads no parameter
      case kStdin:
        // The empty FCGI_STDIN record ends the input (spec 5.3): answer.
        if (c.active && id == c.request_id && len == 0) answer(c);
        return;
      case kAbortRequest:
        if (c.active && id == c.request_id) {
          append_end_request(c.out, id, kRequestComplete);
          finish(c);
        }
        return;
      default:
        return;  // application records we do not use: ignored
    }
  }

  void answer(Connection& c) {
    append_header(c.out, kStdout, c.request_id, static_cast<std::uint16_t>(kAnswer.size()));
    c.out.append(kAnswer);
    append_header(c.out, kStdout, c.request_id, 0);  // end of the stdout stream
    append_end_request(c.out, c.request_id, kRequestComplete);
    finish(c);
  }

  void finish(Connection& c) {
    c.active = false;
    // Without FCGI_KEEP_CONN the application closes the connection after
    // the request (spec 5.1).
    if (!c.keep_conn) c.close_after_write = true;
  }

  // Writes what is pending; arms EPOLLOUT if the socket is full. False
  // when the connection is finished.
  bool flush(Connection& c) {
    while (c.sent < c.out.size()) {
      ssize_t n = ::write(c.fd, c.out.data() + c.sent, c.out.size() - c.sent);
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return want_write(c, true);
      return false;
    }
    c.out.clear();
    c.sent = 0;
    if (c.close_after_write) return false;
    return want_write(c, false);
  }

  bool want_write(Connection& c, bool on) {
    if (c.want_write == on) return true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) < 0) return false;
    c.want_write = on;
    return true;
  }

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  std::unordered_map<int, Connection> conns_;
};

int listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket()");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("bind()");
  if (::listen(fd, 511) < 0) die("listen()");
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: floor PORT [THREADS]\n");
    return 2;
  }
  int port = std::atoi(argv[1]);
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "floor: bad port %s\n", argv[1]);
    return 2;
  }
  int threads = argc == 3 ? std::atoi(argv[2]) : 1;
  if (threads < 1 || threads > 64) {
    std::fprintf(stderr, "floor: bad thread count %s\n", argv[2]);
    return 2;
  }
  // The loops poll g_stop every second; the signal only sets it.
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  const int listen_fd = listen_on(port);
  std::vector<std::thread> loops;
  for (int i = 1; i < threads; ++i) loops.emplace_back([listen_fd] { Floor(listen_fd).run(); });
  Floor(listen_fd).run();
  for (auto& t : loops) t.join();
  ::close(listen_fd);
  return 0;
}
