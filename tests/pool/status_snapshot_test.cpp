// The status page's data: take_snapshot reading the scoreboard (children,
// their requests, an idle child's last request) and the listen queue.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>

#include "pool/scoreboard.h"
#include "pool/status.h"

using namespace cppfpm::pool;

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

TEST_CASE("status: take_snapshot reads children and their requests") {
  Scoreboard board(4, 2);
  std::int64_t now = now_us();
  board.pool().accepted_conn = 9;
  board.pool().slow_requests = 2;
  board.pool().max_children_reached = 1;
  int busy = board.claim(4001, now - 60 * 1000000LL);
  int quiet = board.claim(4002, now - 30 * 1000000LL);
  REQUIRE(busy >= 0);
  REQUIRE(quiet >= 0);

  // The busy child serves two requests; the older one is shown.
  board.request_started(busy, 0, now - 1000, "POST", "/new.php", "");
  board.request_started(busy, 1, now - 5000000, "GET", "/old.php", "id=7");
  // The quiet child served one and is idle again.
  board.request_started(quiet, 1, now - 3000, "GET", "/done.php", "");
  board.request_finished(quiet, 1, now - 1000);

  StatusSnapshot s = take_snapshot(board, "www", "static", -1);
  CHECK(s.pool == "www");
  CHECK(s.process_manager == "static");
  CHECK(s.accepted_conn == 9);
  CHECK(s.slow_requests == 2);
  CHECK(s.max_children_reached == 1);
  CHECK(s.now_unix - s.start_unix <= 1);
  CHECK(s.idle == 1);
  CHECK(s.active == 1);
  CHECK(s.total == 2);
  CHECK(s.max_active == 2);  // both were busy at once
  CHECK(s.listen_queue == 0);
  CHECK(s.listen_queue_len == 0);
  REQUIRE(s.processes.size() == 2);

  const auto& running = s.processes[0];
  CHECK(running.pid == 4001);
  CHECK(running.state == "Running");
  CHECK(running.start_unix == (now - 60 * 1000000LL) / 1000000);
  CHECK(running.requests == 2);  // counted when they start, as php-fpm (php_fpm_parity_test)
  CHECK(running.request_method == "GET");
  CHECK(running.request_uri == "/old.php");
  CHECK(running.script == "/old.php");
  CHECK(running.query == "id=7");
  CHECK(running.request_duration_us >= 5000000);
  CHECK(running.request_duration_us < 65000000);

  const auto& idle = s.processes[1];
  CHECK(idle.pid == 4002);
  CHECK(idle.state == "Idle");
  CHECK(idle.requests == 1);
  CHECK(idle.request_duration_us == 2000);
  // The thread that finished last still holds its request: an idle child
  // shows its last request, as php-fpm's does.
  CHECK(idle.request_method == "GET");
  CHECK(idle.script == "/done.php");
  CHECK(idle.request_uri == "/done.php");

  // Both requests finish: the busy child turns idle and shows its last duration.
  board.request_finished(busy, 0, now);
  board.request_finished(busy, 1, now);
  s = take_snapshot(board, "www", "static", -1);
  CHECK(s.idle == 2);
  CHECK(s.active == 0);
  CHECK(s.max_active == 2);  // both were busy at once
  REQUIRE(s.processes.size() == 2);
  CHECK(s.processes[0].state == "Idle");
  CHECK(s.processes[0].requests == 2);
  CHECK(s.processes[0].request_duration_us == 5000000);

  board.release(quiet);
  s = take_snapshot(board, "www", "static", -1);
  CHECK(s.total == 1);
  CHECK(s.processes.size() == 1);
}

TEST_CASE("status: take_snapshot shows an idle child's last request with one thread") {
  Scoreboard board(2, 1);
  std::int64_t now = now_us();
  int child = board.claim(5001, now);
  REQUIRE(child >= 0);

  StatusSnapshot s = take_snapshot(board, "www", "ondemand", -1);
  REQUIRE(s.processes.size() == 1);
  CHECK(s.processes[0].request_method.empty());  // nothing served yet

  board.request_started(child, 0, now, "GET", "/ping.php", "x=1");
  board.request_finished(child, 0, now + 700);
  s = take_snapshot(board, "www", "ondemand", -1);
  REQUIRE(s.processes.size() == 1);
  CHECK(s.processes[0].state == "Idle");
  CHECK(s.processes[0].request_method == "GET");
  CHECK(s.processes[0].script == "/ping.php");
  CHECK(s.processes[0].query == "x=1");
  CHECK(s.processes[0].request_duration_us == 700);
}

TEST_CASE("status: take_snapshot never mixes two requests' text") {
  Scoreboard board(1, 1);
  int child = board.claim(6001, now_us());
  REQUIRE(child >= 0);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (std::int64_t n = 1; !stop.load(); ++n) {
      bool odd = n % 2 == 1;
      board.request_started(child, 0, n, odd ? "GET" : "DELETE", odd ? "/g.php" : "/delete/it.php",
                            odd ? "a=1" : "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb=2");
      board.request_finished(child, 0, n + 1);
      std::this_thread::yield();  // lets the reader in on a busy 2-core box
    }
  });
  int mixed = 0, seen = 0;
  // Bounded by reads seen or by time, so a loaded machine still gets a verdict.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; seen < 2000 && std::chrono::steady_clock::now() < deadline; ++i) {
    StatusSnapshot s = take_snapshot(board, "www", "static", -1);
    if (s.processes.size() != 1 || s.processes[0].request_method.empty()) continue;
    const auto& p = s.processes[0];
    ++seen;
    bool get = p.request_method == "GET" && p.script == "/g.php" && p.query == "a=1";
    bool del = p.request_method == "DELETE" && p.script == "/delete/it.php" && p.query.size() == 47;
    if (!get && !del) ++mixed;
  }
  stop = true;
  writer.join();
  CHECK(seen > 0);
  CHECK(mixed == 0);
}

TEST_CASE("status: take_snapshot reads a TCP listen queue") {
  Scoreboard board(1, 1);
  Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(listener.get() >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener.get(), 7) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);

  StatusSnapshot s = take_snapshot(board, "www", "static", listener.get());
  CHECK(s.listen_queue == 0);
  CHECK(s.listen_queue_len == 7);
  CHECK(s.max_listen_queue == 0);

  // Two connections wait unaccepted (loopback completes the handshake in connect()).
  Fd a(::socket(AF_INET, SOCK_STREAM, 0));
  Fd b(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(::connect(a.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::connect(b.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  s = take_snapshot(board, "www", "static", listener.get());
  CHECK(s.listen_queue == 2);
  CHECK(s.max_listen_queue == 2);
  CHECK(board.pool().max_listen_queue.load() == 2);

  // The maximum stays once the queue drains.
  Fd accepted_a(::accept(listener.get(), nullptr, nullptr));
  Fd accepted_b(::accept(listener.get(), nullptr, nullptr));
  s = take_snapshot(board, "www", "static", listener.get());
  CHECK(s.listen_queue == 0);
  CHECK(s.max_listen_queue == 2);
}

TEST_CASE("status: take_snapshot reports 0 for a unix socket's queue") {
  Scoreboard board(1, 1);
  Fd listener(::socket(AF_UNIX, SOCK_STREAM, 0));
  REQUIRE(listener.get() >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract namespace: nothing to clean up on disk.
  std::string name = "cppfpm-status-test-" + std::to_string(::getpid());
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0);
  REQUIRE(::listen(listener.get(), 5) == 0);
  StatusSnapshot s = take_snapshot(board, "www", "static", listener.get());
  CHECK(s.listen_queue == 0);
  CHECK(s.listen_queue_len == 0);
  CHECK(s.max_listen_queue == 0);
}

TEST_CASE("status: an idle child's last request cpu and memory as php-fpm computes them") {
  Scoreboard board(1, 2);
  std::int64_t now = now_us();
  int child = board.claim(6001, now - 10000000);
  REQUIRE(child >= 0);
  board.request_started(child, 0, now - 3000000, "GET", "/early.php", "");
  board.request_finished(child, 0, now - 2000000, 100000, 1 << 20);
  // The later request: 1 s long, 0.25 s of the thread's CPU, 8 MiB peak.
  board.request_started(child, 1, now - 1500000, "POST", "/late.php", "a=1");
  board.request_finished(child, 1, now - 500000, 250000, 8 << 20);
  StatusSnapshot s = take_snapshot(board, "www", "static", -1);
  REQUIRE(s.processes.size() == 1);
  const auto& p = s.processes[0];
  CHECK(p.state == "Idle");
  CHECK(p.request_method == "POST");
  CHECK(p.script == "/late.php");
  CHECK(p.query == "a=1");
  CHECK(p.request_duration_us == 1000000);
  CHECK(p.last_request_cpu == Approx(25.0));
  CHECK(p.last_request_memory == 8 << 20);
  StatusQuery full;
  full.full = true;
  std::string type;
  std::string text = render_status(s, full, type);
  CHECK(text.find("last request cpu:     25.00\n") != std::string::npos);
  CHECK(text.find("last request memory:  8388608\n") != std::string::npos);
}
