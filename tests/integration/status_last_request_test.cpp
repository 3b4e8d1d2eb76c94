// The status page's `?full` block of a child that has finished a request,
// side by side with php-fpm8.2: it keeps the last request's method, URI,
// script and duration, and `last request cpu` / `last request memory` are
// measured, never a constant 0.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "support/fcgi_client.h"
#include "support/pm_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using Block = std::map<std::string, std::string>;

// The ?full block whose request URI is `uri` once the request is over (its
// memory shown: php-fpm shows 0 while the child is still "Finishing", and
// so does cppfpm until the worker thread has done its bookkeeping), after
// `request` ran; the request is repeated a few times, since the status
// request may land on the child that served it.
std::optional<Block> block_after(const Endpoint& at, const std::function<void()>& request,
                                 const std::string& uri) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    request();
    std::optional<Block> found;
    wait_until(
        [&] {
          for (auto& block : pm_status_processes(pm_get(at, "/status", "full").body))
            if (block["request URI"] == uri && block["last request memory"] != "0") found = block;
          return found.has_value();
        },
        3s, 100ms);
    if (found) return found;
  }
  return std::nullopt;
}

double number(const Block& b, const std::string& key) {
  auto it = b.find(key);
  return it == b.end() ? -1 : std::stod(it->second);
}

}  // namespace

TEST_CASE("status ?full: a finished request's method URI script duration cpu and memory",
          "[pm][status][php]") {
  PmServer fpm(pm_pool(loopback_endpoint()));
  REQUIRE(fpm.wait_children(2, 5s));
  auto ours = block_after(
      fpm.endpoint, [&] { REQUIRE(fpm.get("/__test/spin", "ms=200").status == 200); },
      "/__test/spin?ms=200");
  REQUIRE(ours);
  INFO("cppfpm block:\n"
       << [&] {
            std::string s;
            for (auto& [k, v] : *ours) s += k + ": " + v + "\n";
            return s;
          }());
  CHECK((*ours)["request method"] == "GET");
  CHECK((*ours)["script"] == "/__test/spin");
  CHECK(number(*ours, "request duration") >= 200000);  // at least the CPU it burnt
  double cpu = number(*ours, "last request cpu");
  CHECK(cpu > 0.0);
  CHECK(cpu <= 101.0);
  CHECK(number(*ours, "last request memory") > 1024 * 1024);  // a child holds more than 1 MiB

  // php-fpm shows the same fields measured for the same kind of request.
  if (!fs::exists("/usr/sbin/php-fpm8.2")) {
    WARN("php-fpm8.2 is not installed: the php-fpm side of this test is skipped");
    return;
  }
  TempDir dir("cppfpm-last-request-");
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_read |
                                  fs::perms::others_exec | fs::perms::group_read |
                                  fs::perms::group_exec);
  write_file(dir.path() / "spin.php",
             "<?php $t = hrtime(true); while (hrtime(true) - $t < 200000000) { $x = md5('x'); }\n"
             "echo 'spun';\n");
  int port = free_loopback_port();
  write_file(dir.path() / "php-fpm.conf",
             "[global]\nerror_log = " + (dir.path() / "php.log").string() +
                 "\npid = " + (dir.path() / "php.pid").string() +
                 "\n[www]\nlisten = 127.0.0.1:" + std::to_string(port) +
                 "\nuser = nobody\npm = static\npm.max_children = 2\npm.status_path = /status\n");
  Process php({"/usr/sbin/php-fpm8.2", "-n", "-F", "-y", (dir.path() / "php-fpm.conf").string()},
              dir.path() / "php.out");
  REQUIRE(php.wait_for_port(port, 10s));
  Endpoint at{"127.0.0.1", port, {}};
  std::string script = (dir.path() / "spin.php").string();
  auto theirs = block_after(
      at,
      [&] {
        Params params = nginx_params("/spin.php");
        for (auto& [name, value] : params)
          if (name == "SCRIPT_FILENAME") value = script;
        PmClient(at).request(params);
      },
      "/spin.php");
  REQUIRE(theirs);
  INFO("php-fpm block:\n"
       << [&] {
            std::string s;
            for (auto& [k, v] : *theirs) s += k + ": " + v + "\n";
            return s;
          }());
  CHECK((*theirs)["request method"] == "GET");
  CHECK((*theirs)["script"] == script);
  CHECK(number(*theirs, "request duration") >= 200000);
  CHECK(number(*theirs, "last request cpu") > 0.0);
  CHECK(number(*theirs, "last request memory") > 0);
  // The same fields in the same order.
  std::string keys_ours, keys_theirs;
  for (auto& [k, v] : *ours) keys_ours += k + "\n";
  for (auto& [k, v] : *theirs) keys_theirs += k + "\n";
  CHECK(keys_ours == keys_theirs);
}
