// Process titles as php-fpm's ("php-fpm: master process (CONFIG)",
// "php-fpm: pool www"), read where ps reads them: /proc/PID/cmdline.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <string>

#include "support/pm_server.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// cmdline up to its first NUL: what `ps -o args` shows of a retitled process.
std::string title_of(pid_t pid) {
  std::string raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  return raw.substr(0, raw.find('\0'));
}

}  // namespace

TEST_CASE("process titles: cppfpm: master process (CONFIG) and cppfpm: pool NAME",
          "[pm][process][php]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 5s));
  CHECK(title_of(fpm.pid()) == "cppfpm: master process (" + fpm.config_path().string() + ")");
  for (pid_t child : fpm.children()) CHECK(title_of(child) == "cppfpm: pool www");
  // A reload re-executes with the original arguments, kept aside.
  fpm.process().signal(SIGUSR2);
  REQUIRE(fpm.wait_ready(2, 10s));
  CHECK(title_of(fpm.pid()) == "cppfpm: master process (" + fpm.config_path().string() + ")");

  if (!fs::exists("/usr/sbin/php-fpm8.2")) return;
  TempDir dir("cppfpm-title-");
  int port = free_loopback_port();
  fs::path config = dir.path() / "php-fpm.conf";
  write_file(config, "[global]\nerror_log = " + (dir.path() / "php.log").string() +
                         "\npid = " + (dir.path() / "php.pid").string() +
                         "\n[www]\nlisten = 127.0.0.1:" + std::to_string(port) +
                         "\nuser = nobody\npm = static\n"
                         "pm.max_children = 1\n");
  Process php({"/usr/sbin/php-fpm8.2", "-n", "-F", "-y", config.string()}, dir.path() / "out");
  REQUIRE(php.wait_for_port(port, 10s));
  REQUIRE(wait_until([&] { return php.children().size() == 1; }, 5s));
  CHECK(title_of(php.pid()) == "php-fpm: master process (" + config.string() + ")");
  CHECK(title_of(php.children().front()) == "php-fpm: pool www");
}
