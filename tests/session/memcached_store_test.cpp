// MemcachedStore without a memcached server: parsing, TTLs, key checks and
// how it fails. Tests against a real server are in tests/integration.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/memcached/expiry.h"
#include "server/memcached/outage.h"
#include "session/memcached_store.h"

using cppfpm::memcached::memcached_exptime;
using cppfpm::memcached::OutageLog;
using cppfpm::memcached::parse_save_path;
using cppfpm::memcached::Server;
using cppfpm::session::MemcachedStore;
using cppfpm::session::StoreResult;
using namespace std::chrono_literals;

namespace {

// A loopback TCP socket that listens but never accepts or answers: connects
// succeed (the kernel queues them), requests hang.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A loopback port nobody listens on.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("memcached_store: save paths as PHP writes them", "[session]") {
  CHECK(parse_save_path("tcp://127.0.0.1:11211") ==
        std::vector<Server>{{"127.0.0.1", 11211, false}});
  CHECK(parse_save_path("tcp://h1:11211, tcp://h2:11212") ==
        std::vector<Server>{{"h1", 11211, false}, {"h2", 11212, false}});
  CHECK(parse_save_path("h1:1,h2:2") == std::vector<Server>{{"h1", 1, false}, {"h2", 2, false}});
  CHECK(parse_save_path("memcached.local") ==
        std::vector<Server>{{"memcached.local", 11211, false}});
  CHECK(parse_save_path("tcp://10.0.0.5:11211?persistent=1&weight=1&timeout=1&retry_interval=15") ==
        std::vector<Server>{{"10.0.0.5", 11211, false}});
  CHECK(parse_save_path("tcp://[::1]:11311") == std::vector<Server>{{"::1", 11311, false}});
  CHECK(parse_save_path("[fe80::1]") == std::vector<Server>{{"fe80::1", 11211, false}});
  CHECK(parse_save_path("unix:///run/memcached.sock") ==
        std::vector<Server>{{"/run/memcached.sock", 0, true}});
  CHECK(parse_save_path("  tcp://a:1 ,\t, tcp://b:2,") ==
        std::vector<Server>{{"a", 1, false}, {"b", 2, false}});
}

TEST_CASE("memcached_store: garbage save paths are refused", "[session]") {
  for (const char* bad : {"", " , ", "tcp://", "tcp://:11211", "tcp://host:", "tcp://host:abc",
                          "tcp://host:0", "tcp://host:65536", "tcp://host:11211:1", "udp://host:1",
                          "http://host", "host name:11211", "host\r\n:1", "tcp://[::1", "[::1]x",
                          "[not-v6]:1", "unix://relative/path", "unix://", "tcp://h;rm -rf:1"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_save_path(bad), std::invalid_argument);
  }
  CHECK_THROWS_AS(MemcachedStore("tcp://"), std::invalid_argument);
}

TEST_CASE("memcached_store: long lifetimes become absolute times", "[session]") {
  const std::int64_t now = 1700000000;
  CHECK(memcached_exptime(1440s, now) == 1440);
  CHECK(memcached_exptime(0s, now) == 0);
  CHECK(memcached_exptime(2592000s, now) == 2592000);
  CHECK(memcached_exptime(2592001s, now) == now + 2592001);
  CHECK(memcached_exptime(std::chrono::seconds(86400 * 365), now) == now + 86400 * 365);
  CHECK(memcached_exptime(-5s, now) == -1);
}

TEST_CASE("memcached_store: invalid keys never reach the server", "[session]") {
  // The server does not exist; a key that reached it would answer unavailable.
  MemcachedStore store(std::vector<Server>{{"127.0.0.1", closed_port(), false}}, 200ms);
  std::string out;
  for (const std::string& key :
       std::vector<std::string>{std::string(), std::string("a b"), std::string("k\r\nflush_all"),
                                std::string("a\0b", 3), std::string(251, 'k')}) {
    CAPTURE(key);
    CHECK(store.read(key, out) == StoreResult::not_found);
    CHECK(store.touch(key, 60s) == StoreResult::not_found);
    CHECK(store.remove(key) == StoreResult::not_found);
    CHECK(store.write(key, "v", 60s) == StoreResult::unavailable);
  }
}

TEST_CASE("memcached_store: a refused connection is unavailable", "[session]") {
  MemcachedStore store("tcp://127.0.0.1:" + std::to_string(closed_port()), 200ms);
  std::string out;
  CHECK(store.read("abc", out) == StoreResult::unavailable);
  CHECK(store.write("abc", "v", 60s) == StoreResult::unavailable);
  CHECK(store.touch("abc", 60s) == StoreResult::unavailable);
  CHECK(store.remove("abc") == StoreResult::unavailable);
}

TEST_CASE("memcached_store: a silent server is unavailable within the timeout", "[session]") {
  SilentServer silent;
  MemcachedStore store("127.0.0.1:" + std::to_string(silent.port()), 300ms);
  std::string out;
  const auto start = std::chrono::steady_clock::now();
  CHECK(store.read("abc", out) == StoreResult::unavailable);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed < 2s);
  const auto again = std::chrono::steady_clock::now();
  CHECK(store.write("abc", "v", 60s) == StoreResult::unavailable);
  CHECK(std::chrono::steady_clock::now() - again < 2s);
}

// A "noreply" delete into a server that does not answer succeeds as soon
// as its bytes are in the socket: that is no round trip, so the outage the
// failed read started is not over (it was logged as "reachable again"
// while memcached was still frozen).
TEST_CASE("memcached_store: a noreply release does not end an outage", "[session]") {
  OutageLog::reset_shared_state();
  SilentServer silent;
  MemcachedStore store("127.0.0.1:" + std::to_string(silent.port()), 200ms);
  const OutageLog server_state(0ms, OutageLog::session_server_slot(0));
  std::string out;
  CHECK(store.read("abc", out) == StoreResult::unavailable);
  CHECK(server_state.down());
  // libmemcached skips the server for its retry timeout (2 s) after the
  // failure; wait it out so the release really goes to the socket.
  std::this_thread::sleep_for(2100ms);
  // "Released" as far as libmemcached can tell: the bytes went out.
  CHECK(store.unlock("abc.lock", 1, false) == StoreResult::ok);
  CHECK(server_state.down());
  OutageLog::reset_shared_state();
}
