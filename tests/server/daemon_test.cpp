#include <unistd.h>

#include <catch2/catch.hpp>

#include "../pool/config_test_support.h"
#include "server/daemon.h"

TEST_CASE("pid file: the pid and no newline, as php-fpm writes it") {
  cppfpm::pool::test::ScratchDir dir;
  std::string path = dir / "x.pid";
  cppfpm::server::write_pid_file(path);
  CHECK(cppfpm::pool::test::read_text(path) == std::to_string(::getpid()));
}
