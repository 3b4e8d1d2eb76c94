// A graceful stop (SIGQUIT, issue 12 item 5): a connection holding part of
// a request head does not hold the stop up to the head timeout, and while
// the children drain, new connections are refused at once (ECONNREFUSED, as
// php-fpm 8.2 does) instead of queueing in a backlog that is reset at exit.
// A reload (SIGUSR2) keeps the socket accepting.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/net.h"
#include "support/pm_server.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

struct ConnectOutcome {
  int refused = 0;
  int other_errors = 0;
  std::vector<Fd> accepted;  // connected: queued, to be reset later
  Millis slowest{0};
};

// `n` blocking connects to 127.0.0.1:port, `every` apart. On loopback a
// connect either completes (queued in the backlog) or is refused at once.
ConnectOutcome connect_repeatedly(int port, int n, Millis every) {
  ConnectOutcome out;
  for (int i = 0; i < n; ++i) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    Stopwatch watch;
    int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int error = errno;
    out.slowest = std::max(out.slowest, watch.elapsed());
    if (rc == 0)
      out.accepted.push_back(std::move(fd));
    else if (error == ECONNREFUSED)
      ++out.refused;
    else
      ++out.other_errors;
    std::this_thread::sleep_for(every);
  }
  return out;
}

// A blocking connect to a unix socket: 0, or the errno.
int connect_unix(const std::filesystem::path& path) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
}

}  // namespace

TEST_CASE("SIGQUIT: a connection holding 3 bytes of a head does not delay the stop",
          "[pm][signals][stop]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto slow = slow_request(fpm.endpoint, 800);
  REQUIRE(wait_serving(fpm));
  Fd partial = pm_connect(fpm.endpoint);
  REQUIRE(send_all(partial.get(), std::string_view("\x01\x01\x00", 3)));
  std::this_thread::sleep_for(300ms);  // the loop has seen the 3 bytes
  Stopwatch watch;
  fpm.process().signal(SIGQUIT);
  CHECK(peer_closes_within(partial.get(), 500ms));
  auto r = slow.get();
  auto status = fpm.process().wait_exit(12s);
  INFO("log:\n" << fpm.log());
  CHECK(r.ended);
  CHECK(r.body == "slept 800\n");
  REQUIRE(status);
  CHECK(describe_status(*status) == "exit 0");
  INFO("stopped after " << watch.elapsed().count() << " ms");
  // Before: about 10 s, the head timeout.
  CHECK(watch.elapsed() < 1500ms);
}

TEST_CASE("SIGQUIT: while a request drains, new connections are refused at once, none is reset",
          "[pm][signals][stop]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto slow = slow_request(fpm.endpoint, 1500);
  REQUIRE(wait_serving(fpm));
  fpm.process().signal(SIGQUIT);
  REQUIRE(wait_until([&] { return fpm.log_count("Finishing ...") >= 1; }, 1s, 5ms));
  ConnectOutcome during = connect_repeatedly(fpm.endpoint.port, 20, 30ms);
  auto r = slow.get();
  auto status = fpm.process().wait_exit(5s);
  INFO("log:\n" << fpm.log());
  CHECK(r.ended);
  CHECK(r.body == "slept 1500\n");
  REQUIRE(status);
  CHECK(describe_status(*status) == "exit 0");
  int reset = 0;
  for (const Fd& fd : during.accepted) reset += peer_closes_within(fd.get(), 100ms) ? 1 : 0;
  INFO("refused " << during.refused << ", connected " << during.accepted.size() << " (then reset "
                  << reset << "), other errors " << during.other_errors << ", slowest connect "
                  << during.slowest.count() << " ms");
  CHECK(during.refused == 20);
  CHECK(during.accepted.empty());
  CHECK(during.slowest < 500ms);  // refused at once, not left to wait
}

TEST_CASE("SIGUSR2 keeps the socket accepting, and a SIGQUIT after it refuses at once",
          "[pm][signals][reload][stop]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 3s));
  auto slow = slow_request(fpm.endpoint, 1000);
  REQUIRE(wait_serving(fpm));
  fpm.process().signal(SIGUSR2);
  INFO("log:\n" << fpm.log());
  REQUIRE(fpm.wait_ready(2, 5s));
  ConnectOutcome after_reload = connect_repeatedly(fpm.endpoint.port, 5, 10ms);
  CHECK(after_reload.accepted.size() == 5);
  after_reload.accepted.clear();
  for (int i = 0; i < 3; ++i) CHECK(fpm.get("/ping", {}, 3s).body == "pong");
  auto r = slow.get();
  CHECK(r.body == "slept 1000\n");

  // The re-executed master stops listening on the socket it inherited.
  auto second = slow_request(fpm.endpoint, 1000);
  REQUIRE(wait_serving(fpm));
  fpm.process().signal(SIGQUIT);
  REQUIRE(wait_until([&] { return fpm.log_count("Finishing ...") >= 1; }, 1s, 5ms));
  ConnectOutcome during = connect_repeatedly(fpm.endpoint.port, 5, 30ms);
  CHECK(second.get().body == "slept 1000\n");
  CHECK(fpm.process().wait_exit(5s));
  CHECK(during.refused == 5);
  CHECK(during.accepted.empty());
}

TEST_CASE("SIGQUIT on a unix socket: connects during the drain are refused at once",
          "[pm][signals][stop]") {
  TempDir sockets("cppfpm-pm-sock-");
  Endpoint at{"", 0, sockets / "fpm.sock"};
  PmServer fpm(pm_pool(at));
  REQUIRE(fpm.wait_children(2, 3s));
  REQUIRE(connect_unix(at.unix_path) == 0);
  auto slow = slow_request(at, 1000);
  REQUIRE(wait_serving(fpm));
  fpm.process().signal(SIGQUIT);
  REQUIRE(wait_until([&] { return fpm.log_count("Finishing ...") >= 1; }, 1s, 5ms));
  int refused = 0;
  for (int i = 0; i < 5; ++i) {
    refused += connect_unix(at.unix_path) == ECONNREFUSED ? 1 : 0;
    std::this_thread::sleep_for(30ms);
  }
  INFO("log:\n" << fpm.log());
  CHECK(slow.get().body == "slept 1000\n");
  CHECK(fpm.process().wait_exit(5s));
  CHECK(refused == 5);
}
