#pragma once
// Loopback sockets for tests: owned descriptors, free ports, blocking I/O
// with deadlines.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace cppfpm::test {

using Millis = std::chrono::milliseconds;
using namespace std::chrono_literals;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// A TCP port on 127.0.0.1 that nothing listens on right now. Picked below the
// kernel's ephemeral range so outgoing connections do not take it meanwhile.
int free_loopback_port();

// True when a TCP connect to 127.0.0.1:port succeeds.
bool port_accepts(int port);

// Connects to 127.0.0.1:port; throws std::runtime_error on failure.
Fd connect_loopback(int port, Millis timeout = 2s);

// Wall time since construction.
class Stopwatch {
 public:
  Millis elapsed() const {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start_);
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// A listening socket on a free loopback port that never accepts: connects
// complete in the kernel but nothing is ever said (a silent, hung server).
struct SilentListener {
  Fd fd;
  int port = 0;
};
SilentListener silent_listener();

// Makes close() send a TCP RST instead of a FIN (SO_LINGER 0): a client
// that vanishes rather than hangs up.
void reset_on_close(int fd);

// Writes every byte (MSG_NOSIGNAL); false when the peer is gone.
bool send_all(int fd, std::string_view bytes);

enum class ReadStatus { data, eof, timeout, error };

// Appends what one read() returns, waiting at most `timeout` for it.
ReadStatus read_some(int fd, std::string& out, Millis timeout);

// Reads until the peer closes or `timeout` passes; `status` tells which.
std::string read_until_eof(int fd, Millis timeout, ReadStatus* status = nullptr);

// True when the peer closed (or reset) the connection within `timeout`;
// any data that arrives meanwhile is discarded.
bool peer_closes_within(int fd, Millis timeout);

}  // namespace cppfpm::test
