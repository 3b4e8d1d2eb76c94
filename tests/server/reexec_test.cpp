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

TEST_CASE("reexec: handoff pairs survive the round trip; a pair that is not one is skipped") {
  HandoffSockets a = open_handoff_sockets(), b = open_handoff_sockets();
  Fd a_receive(a.receive), a_send(a.send), b_receive(b.receive), b_send(b.send);
  Fd tcp = tcp_socket(true);
  std::vector<NamedHandoff> pairs{
      {"127.0.0.1:9000", a}, {"/run/php=fpm.sock", b}, {"[::1]:9001", {tcp.get(), a.send}}};
  InheritedHandoffs decoded = decode_handoff_fds(encode_handoff_fds(pairs));
  REQUIRE(decoded.pairs.size() == 2);
  CHECK(decoded.pairs["127.0.0.1:9000"].receive == a.receive);
  CHECK(decoded.pairs["127.0.0.1:9000"].send == a.send);
  CHECK(decoded.pairs["/run/php=fpm.sock"].send == b.send);
  REQUIRE(decoded.errors.size() == 1);
  CHECK(decoded.errors[0].find("[::1]:9001") != std::string::npos);

  InheritedHandoffs bad = decode_handoff_fds("x=1;y=2,3;");
  CHECK(bad.pairs.empty());
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].find("ignoring the rest") != std::string::npos);
}

TEST_CASE("handoff: connections sent on one end are received, still connected, on the other") {
  HandoffSockets pair = open_handoff_sockets();
  Fd receive(pair.receive), send(pair.send);
  Fd listener = tcp_socket(true);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::vector<Fd> clients, accepted;
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(clients.back().get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    accepted.emplace_back(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    fds.push_back(accepted.back().get());
  }
  bool more = true;
  CHECK(receive_connections(receive.get(), more).empty());
  CHECK_FALSE(more);
  REQUIRE(send_connections(send.get(), fds));
  accepted.clear();  // the sender closes its copies
  // Bytes written by the peer meanwhile wait in the socket for the receiver.
  REQUIRE(::write(clients[1].get(), "hi", 2) == 2);
  std::vector<int> got = receive_connections(receive.get(), more);
  CHECK(more);
  REQUIRE(got.size() == 3);
  std::vector<Fd> owned;
  for (int fd : got) owned.emplace_back(fd);
  char text[2];
  REQUIRE(::recv(owned[1].get(), text, 2, MSG_DONTWAIT) == 2);
  CHECK(std::string(text, 2) == "hi");
  CHECK(receive_connections(receive.get(), more).empty());
}

TEST_CASE("handoff: a datagram without the protocol's payload brings no connection") {
  HandoffSockets pair = open_handoff_sockets();
  Fd receive(pair.receive), send(pair.send);
  REQUIRE(::send(send.get(), "junk", 4, 0) == 4);
  bool more = false;
  CHECK(receive_connections(receive.get(), more).empty());
  CHECK(more);
}
