// The re-exec environment (server/reexec.h) read by a starting master: a
// bad entry is logged as nginx logs a bad inherited socket, and never used.
#include <catch2/catch.hpp>

#include "support/pm_server.h"

using namespace cppfpm::test;

TEST_CASE(
    "re-exec environment: bad inherited entries are logged and ignored, the pool opens its own "
    "socket",
    "[pm][reload]") {
  TempDir dir("cppfpm-inherited-");
  Endpoint at = loopback_endpoint();
  write_file(dir / "cppfpm.conf", fpm_config(pm_pool(at)));
  const std::string not_a_socket = at.listen() + "=0";  // stdin is /dev/null, not a socket
  const std::string malformed = at.listen() + "=x";
  ProcessOptions options;
  options.env = {{"CPPFPM_INHERITED_FDS", not_a_socket + ";" + malformed + ";"},
                 {"CPPFPM_OLD_CHILDREN", "abc,"},
                 {"CPPFPM_TEST_PAGES", "1"}};
  Process fpm({CPPFPM_BINARY, "-R", "-F", "-y", (dir / "cppfpm.conf").string()}, dir / "cppfpm.log",
              options);
  REQUIRE(fpm.wait_for_port(at.port, 10s));
  INFO("log:\n" << fpm.log());

  auto pong = pm_get(at, "/ping");
  CHECK(pong.status == 200);
  const std::string log = fpm.log();
  CHECK(log.find("ERROR: inherited socket #0 of \"" + not_a_socket +
                 "\" in CPPFPM_INHERITED_FDS environment variable is not a listening socket (") !=
        std::string::npos);
  CHECK(log.find(
            "ERROR: invalid socket number \"" + malformed +
            "\" in CPPFPM_INHERITED_FDS environment variable, ignoring the rest of the variable") !=
        std::string::npos);
  CHECK(log.find("ERROR: invalid process id \"abc\" in CPPFPM_OLD_CHILDREN environment variable, "
                 "ignoring it") != std::string::npos);
}
