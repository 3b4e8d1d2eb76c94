// php-fpm 8.2's cut of its own log lines (zlog.c, vzlog), as cppfpm applies
// it to the master's and children's lines and to -t/-tt output.
#include <catch2/catch.hpp>

#include <string>

#include "server/log.h"

using cppfpm::server::cut_length;
using cppfpm::server::cut_log_line;
using cppfpm::server::stamped_line;

TEST_CASE("log_limit: a line under 2048 bytes is whole, even past log_limit") {
  CHECK(cut_length(10, 1024) == 10);
  CHECK(cut_length(1500, 1024) == 1500);
  CHECK(cut_length(2047, 512) == 2047);
  CHECK(cut_log_line(std::string(1500, 'x'), 1024) == std::string(1500, 'x'));
}

TEST_CASE("log_limit: a line of 2048 bytes or more keeps log_limit - 1, the last three \"...\"") {
  CHECK(cut_length(2048, 1024) == 1023);
  CHECK(cut_length(100000, 512) == 511);
  CHECK(cut_log_line(std::string(3000, 'x'), 1024) == std::string(1020, 'x') + "...");
  // log_limit above php-fpm's 2048-byte buffer: the buffer bounds it.
  CHECK(cut_length(5000, 4096) == 2047);
}

TEST_CASE("log_limit: a -t line counts its time stamp and level") {
  std::string line = stamped_line("NOTICE", std::string(3000, 'e'), 1024);
  CHECK(line.size() == 1024);  // 1023 and the line end
  CHECK(line.substr(23, 8) == "NOTICE: ");
  CHECK(line.substr(line.size() - 5) == "e...\n");
  CHECK(stamped_line("NOTICE", "short", 1024).substr(23) == "NOTICE: short\n");
}
