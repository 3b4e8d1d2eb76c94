#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/fastcgi/fd.h"
#include "server/reexec.h"

using namespace cppfpm::server;

namespace {

// A TCP socket on an ephemeral loopback port, listening unless told not to.
Fd tcp_socket(bool listening) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  if (listening) REQUIRE(::listen(fd.get(), 8) == 0);
  return fd;
}

// An fd number that is certainly closed.
int closed_fd() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ::close(fd);
  return fd;
}

}  // namespace

TEST_CASE("reexec: inherited listeners survive the round trip") {
  Fd a = tcp_socket(true), b = tcp_socket(true);
  std::vector<NamedListener> listeners{{"127.0.0.1:9000", a.get()}, {"/run/php=fpm.sock", b.get()}};
  std::string encoded = encode_inherited_fds(listeners);
  CHECK(encoded == "127.0.0.1:9000=" + std::to_string(a.get()) +
                       ";/run/php=fpm.sock=" + std::to_string(b.get()) + ";");
  InheritedFds decoded = decode_inherited_fds(encoded);
  CHECK(decoded.errors.empty());
  CHECK(decoded.fds ==
        std::map<std::string, int>{{"127.0.0.1:9000", a.get()}, {"/run/php=fpm.sock", b.get()}});
}

TEST_CASE("reexec: old children survive the round trip") {
  std::set<pid_t> pids{12, 345, 6789};
  CHECK(encode_old_children(pids) == "12,345,6789,");
  OldChildren decoded = decode_old_children(encode_old_children(pids));
  CHECK(decoded.errors.empty());
  CHECK(decoded.pids == pids);
  CHECK(decode_old_children("").pids.empty());
}

TEST_CASE("reexec: a malformed inherited entry stops the decoding, named as nginx names it") {
  Fd a = tcp_socket(true), b = tcp_socket(true);
  const std::string good = "127.0.0.1:9000=" + std::to_string(a.get()) + ";";
  const std::string after = "127.0.0.1:9002=" + std::to_string(b.get()) + ";";
  for (const std::string bad :
       {"127.0.0.1:9001=x", "127.0.0.1:9001=-3", "127.0.0.1:9001=", "127.0.0.1:9001",
        "127.0.0.1:9001=7x", "127.0.0.1:9001=99999999999"}) {
    INFO(bad);
    InheritedFds decoded = decode_inherited_fds(good + bad + ";" + after);
    CHECK(decoded.fds == std::map<std::string, int>{{"127.0.0.1:9000", a.get()}});
    REQUIRE(decoded.errors.size() == 1);
    CHECK(decoded.errors[0] ==
          "invalid socket number \"" + bad +
              "\" in CPPFPM_INHERITED_FDS environment variable, ignoring the rest of the variable");
  }
}

TEST_CASE("reexec: an inherited fd that is not a listening socket is skipped alone") {
  Fd listening = tcp_socket(true), bound = tcp_socket(false);
  int pipefd[2];
  REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
  Fd pipe_read(pipefd[0]), pipe_write(pipefd[1]);
  const int closed = closed_fd();
  for (int bad : {bound.get(), pipe_read.get(), closed}) {
    const std::string entry = "127.0.0.1:9001=" + std::to_string(bad);
    INFO(entry);
    InheritedFds decoded =
        decode_inherited_fds(entry + ";127.0.0.1:9000=" + std::to_string(listening.get()) + ";");
    CHECK(decoded.fds == std::map<std::string, int>{{"127.0.0.1:9000", listening.get()}});
    REQUIRE(decoded.errors.size() == 1);
    CHECK(decoded.errors[0].starts_with(
        "inherited socket #" + std::to_string(bad) + " of \"" + entry +
        "\" in CPPFPM_INHERITED_FDS environment variable is not a listening socket ("));
    CHECK(decoded.errors[0].ends_with("), ignoring it"));
  }
}

TEST_CASE("reexec: entries that are not pids are named and skipped") {
  OldChildren decoded = decode_old_children("12,abc,0,-5,34,");
  CHECK(decoded.pids == std::set<pid_t>{12, 34});
  CHECK(decoded.errors ==
        std::vector<std::string>{
            "invalid process id \"abc\" in CPPFPM_OLD_CHILDREN environment variable, ignoring it",
            "invalid process id \"0\" in CPPFPM_OLD_CHILDREN environment variable, ignoring it",
            "invalid process id \"-5\" in CPPFPM_OLD_CHILDREN environment variable, ignoring it"});
}

TEST_CASE("reexec: an absent or empty variable decodes to nothing") {
  InheritedFds decoded = decode_inherited_fds("");
  CHECK(decoded.fds.empty());
  CHECK(decoded.errors.empty());
}
