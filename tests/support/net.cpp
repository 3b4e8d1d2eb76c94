#include "support/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cppfpm::test {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool can_bind(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  auto addr = loopback(port);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

int free_loopback_port() {
  // 20000..32767 lies below Linux's default ip_local_port_range. Start at a
  // pid-dependent spot so concurrent test processes rarely probe the same
  // ports, and never hand the same port out twice in one process.
  constexpr int first = 20000, count = 12000;
  static std::atomic<int> next{static_cast<int>(::getpid() * 7919 % count)};
  for (int tries = 0; tries < count; ++tries) {
    int port = first + next.fetch_add(1) % count;
    if (can_bind(port) && !port_accepts(port)) return port;
  }
  throw std::runtime_error("free_loopback_port: no free port in 20000..31999");
}

bool port_accepts(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  auto addr = loopback(port);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

Fd connect_loopback(int port, Millis timeout) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw std::runtime_error(std::string("socket() failed: ") + std::strerror(errno));
  auto addr = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS)
      throw std::runtime_error("connect() to 127.0.0.1:" + std::to_string(port) +
                               " failed: " + std::strerror(errno));
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
      throw std::runtime_error("connect() to 127.0.0.1:" + std::to_string(port) + " timed out");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      throw std::runtime_error("connect() to 127.0.0.1:" + std::to_string(port) +
                               " failed: " + std::strerror(err));
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

SilentListener silent_listener() {
  for (int tries = 0; tries < 20; ++tries) {
    int port = free_loopback_port();
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto addr = loopback(port);
    if (fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd.get(), 64) == 0)
      return SilentListener{std::move(fd), port};
  }
  throw std::runtime_error("silent_listener: could not listen on a loopback port");
}

void reset_on_close(int fd) {
  linger abort{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 5000) != 1) return false;
      continue;
    }
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

ReadStatus read_some(int fd, std::string& out, Millis timeout) {
  pollfd p{fd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) return ReadStatus::timeout;
  if (ready < 0) return ReadStatus::error;
  char buf[16384];
  ssize_t n;
  do {
    n = ::recv(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return ReadStatus::eof;
  if (n < 0) return errno == ECONNRESET ? ReadStatus::eof : ReadStatus::error;
  out.append(buf, static_cast<std::size_t>(n));
  return ReadStatus::data;
}

std::string read_until_eof(int fd, Millis timeout, ReadStatus* status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  ReadStatus s;
  do {
    s = read_some(fd, out, Millis(remaining_ms(deadline)));
  } while (s == ReadStatus::data);
  if (status) *status = s;
  return out;
}

bool peer_closes_within(int fd, Millis timeout) {
  ReadStatus s;
  read_until_eof(fd, timeout, &s);
  return s == ReadStatus::eof || s == ReadStatus::error;
}

}  // namespace cppfpm::test
