// PHP interop: Debian's php8.2-fpm with pecl-memcache (php8.2-memcache)
// runs the seed's setSession.php/showSession.php on the same memcached as
// cppfpm. A session made by PHP continues in cppfpm and one made by cppfpm
// continues in PHP (same id, same timestamp), and a counter incremented in
// parallel by both ends at the number of increments: the two lock each
// other out through `<id>.lock`. Skipped, saying why, without php-fpm8.2.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/cppfpm.h"
#include "support/fcgi_client.h"
#include "support/mariadb.h"
#include "support/memcached.h"
#include "support/parallel.h"
#include "support/php.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Installs php8.2-fpm and php8.2-memcache when missing; false if it cannot.
bool php_available(const fs::path& dir) {
  auto loaded = [&] {
    return fs::exists(kPhpFpm) && run_command({"php8.2", "-n", "-d", "extension=memcache", "-r",
                                               "exit(extension_loaded('memcache') ? 0 : 1);"},
                                              dir / "probe.log", 30s) == 0;
  };
  if (loaded()) return true;
  ProcessOptions options;
  options.env = {{"DEBIAN_FRONTEND", "noninteractive"}};
  run_command({"apt-get", "install", "-y", "-q", "php8.2-fpm", "php8.2-memcache"}, dir / "apt.log",
              300s, options);
  return loaded();
}

std::string set_session_php() {
  return "<?php\nsession_start();\nif (!isset($_SESSION['Itcys.top'])) {\n"
         "    $_SESSION['Itcys.top'] = time();\n}\nprint $_SESSION['Itcys.top'];\n"
         "print \"<br><br>\";\nprint \"Session ID: \" . session_id();\n";
}

std::string show_session_php(int memcached_port) {
  return "<?php\nsession_start();\n$mem = new Memcache;\n$mem->connect('127.0.0.1', " +
         std::to_string(memcached_port) + ");\nvar_dump($mem->get(session_id()));\n";
}

std::string counter_php() {
  return "<?php\nsession_start();\n$n = $_SESSION['n'] ?? 0;\nusleep(20000);\n"
         "$_SESSION['n'] = $n + 1;\nprint ($n + 1) . ' ' . session_id();\n";
}

// A session above pecl-memcache's compress_threshold (20000 bytes), which
// PHP stores zlib-compressed with flag 2, plus a counter.
std::string big_session_php() {
  return "<?php\nsession_start();\nif (!isset($_SESSION['big'])) {\n"
         "    $_SESSION['big'] = str_repeat('hello world ', 3000);\n}\n"
         "$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;\n"
         "print $_SESSION['n'] . ' ' . md5($_SESSION['big']) . ' ' . session_id();\n";
}

class PhpFpm {
 public:
  PhpFpm(const fs::path& dir, int memcached_port) : dir_(dir), port_(free_loopback_port()) {
    fs::create_directories(dir / "pages");
    write_file(dir / "pages/setSession.php", set_session_php());
    write_file(dir / "pages/showSession.php", show_session_php(memcached_port));
    write_file(dir / "pages/counter.php", counter_php());
    write_file(dir / "pages/big.php", big_session_php());
    write_file(dir / "php-fpm.conf",
               "[global]\npid = " + (dir / "php-fpm.pid").string() +
                   "\nerror_log = " + (dir / "php-fpm.log").string() +
                   "\ndaemonize = no\n[www]\nlisten = 127.0.0.1:" + std::to_string(port_) +
                   "\nuser = root\ngroup = root\npm = static\npm.max_children = 8\n"
                   "php_admin_value[session.save_handler] = memcache\n"
                   "php_admin_value[session.save_path] = \"tcp://127.0.0.1:" +
                   std::to_string(memcached_port) +
                   "\"\n"
                   // Debian's php.ini values (PHP's built-in ones are 32 and 4).
                   "php_admin_value[session.sid_length] = 26\n"
                   "php_admin_value[session.sid_bits_per_character] = 5\n");
    process_ = std::make_unique<Process>(
        std::vector<std::string>{kPhpFpm, "-n", "-d", "extension=memcache", "-d",
                                 "display_errors=0", "-R", "-F", "-y",
                                 (dir / "php-fpm.conf").string()},
        dir / "php-fpm.out");
    if (!process_->wait_for_port(port_, 10s))
      throw std::runtime_error("php-fpm8.2 did not start:\n" + process_->log() +
                               read_file(dir / "php-fpm.log"));
  }
  int port() const { return port_; }

  FcgiResponse get(const std::string& page, const std::string& cookie = {}) {
    Params params = nginx_params("/" + page, cookie);
    for (auto& [name, value] : params)
      if (name == "SCRIPT_FILENAME") value = (dir_ / "pages" / page).string();
    FcgiClient client(port_);
    return client.request(params, {}, false, 1, 60s);
  }

 private:
  fs::path dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

// php-fpm8.2 (pecl-memcache) and cppfpm on one fresh memcached; not
// `ready` (the test skipped, saying why) when PHP cannot be installed.
struct Interop {
  TempDir dir{"cppfpm-php-"};
  bool ready = false;
  std::unique_ptr<Memcached> memcached;
  std::unique_ptr<PhpFpm> php;
  std::unique_ptr<Cppfpm> cpp;

  Interop() {
    if (!php_available(dir.path())) {
      WARN(
          "SKIPPED: php8.2-fpm with php8.2-memcache is not installed and apt-get could not "
          "install it (see "
          << (dir / "apt.log") << ")");
      return;
    }
    fs::create_directories(dir / "memcached");
    memcached = std::make_unique<Memcached>(dir / "memcached");
    php = std::make_unique<PhpFpm>(dir / "php", memcached->port());
    cpp = std::make_unique<Cppfpm>(
        dir / "cppfpm",
        default_pool(free_loopback_port(), memcached->port(), shared_mariadb().port));
    ready = true;
  }
};

FcgiResponse cpp_get(int port, const std::string& script, const std::string& cookie = {}) {
  FcgiClient client(port);
  return client.request(nginx_params(script, cookie), {}, false, 1, 60s);
}

long count_of(const std::string& body) {
  try {
    return std::stol(body.substr(0, body.find(' ')));
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

TEST_CASE("php interop: PHP and cppfpm continue each other's sessions and lock each other out",
          "[session][php][memcached]") {
  Interop both;
  if (!both.ready) return;
  PhpFpm& php = *both.php;
  Cppfpm& cpp = *both.cpp;

  constexpr int kEach = 50;
  int php_to_cpp = 0, cpp_to_php = 0;
  for (int i = 0; i < kEach; ++i) {
    // Made by PHP, continued in cppfpm.
    auto made = php.get("setSession.php");
    auto made_page = parse_set_session(made.body);
    INFO("php: " << made.stdout_data);
    REQUIRE(made_page);
    auto cont = cpp_get(cpp.port(), "/setSession.php", "PHPSESSID=" + made_page->id);
    auto cont_page = parse_set_session(cont.body);
    if (cont_page && cont_page->id == made_page->id &&
        cont_page->timestamp == made_page->timestamp && !cont.header("Set-Cookie"))
      ++php_to_cpp;
    // Made by cppfpm, continued in PHP.
    auto made2 = cpp_get(cpp.port(), "/setSession.php");
    auto made2_page = parse_set_session(made2.body);
    REQUIRE(made2_page);
    auto cont2 = php.get("setSession.php", "PHPSESSID=" + made2_page->id);
    auto cont2_page = parse_set_session(cont2.body);
    INFO("php: " << cont2.stdout_data);
    if (cont2_page && cont2_page->id == made2_page->id &&
        cont2_page->timestamp == made2_page->timestamp && !cont2.header("Set-Cookie"))
      ++cpp_to_php;
    if (i == 0) {  // both showSession pages read the same raw value
      auto shown_php = php.get("showSession.php", "PHPSESSID=" + made2_page->id);
      auto shown_cpp = cpp_get(cpp.port(), "/showSession.php", "PHPSESSID=" + made2_page->id);
      CHECK(shown_php.body == var_dump_string(stored_session_value(made2_page->timestamp)));
      CHECK(shown_cpp.body == shown_php.body);
    }
  }
  CHECK(php_to_cpp == kEach);
  CHECK(cpp_to_php == kEach);

  // One counter, incremented in parallel by PHP and by cppfpm.
  auto first = php.get("counter.php");
  REQUIRE(count_of(first.body) == 1);
  const std::string cookie = "PHPSESSID=" + first.body.substr(first.body.find(' ') + 1);
  constexpr int kParallel = 16;  // half PHP, half cppfpm
  std::vector<long> seen(kParallel, -1);
  run_together(kParallel, [&](int i) {
    auto r = i % 2 ? php.get("counter.php", cookie) : [&] {
      FcgiClient c(cpp.port());
      return c.request(nginx_params("/__test/counter", cookie, "ms=20"), {}, false, 1, 60s);
    }();
    seen[i] = count_of(r.body);
  });
  const long final_count = count_of(php.get("counter.php", cookie).body);
  CHECK(final_count == kParallel + 2);
  std::cout << "php interop: " << kEach << " PHP sessions continued in cppfpm: " << php_to_cpp
            << ", " << kEach << " cppfpm sessions continued in PHP: " << cpp_to_php
            << ", lost: " << (2 * kEach - php_to_cpp - cpp_to_php) << "; counter after "
            << kParallel << " mixed parallel increments: " << final_count - 2 << "\n";
}

TEST_CASE("php interop: a session PHP stored compressed continues in cppfpm and back in PHP",
          "[session][php][memcached]") {
  Interop both;
  if (!both.ready) return;
  Memcached& memcached = *both.memcached;
  PhpFpm& php = *both.php;
  Cppfpm& cpp = *both.cpp;

  auto first = php.get("big.php");
  INFO("php: " << first.stdout_data);
  const std::string body = first.body;
  REQUIRE(body.rfind("1 ", 0) == 0);
  const std::string digest = body.substr(2, 32);
  const std::string id = body.substr(35);
  REQUIRE(memcached_flags(memcached.port(), id) ==
          std::optional<std::uint32_t>(2));  // PHP compressed it

  // cppfpm reads it, increments the counter, writes it back (compressed too).
  auto cont = cpp_get(cpp.port(), "/__test/counter", "PHPSESSID=" + id);
  INFO("cppfpm: " << cont.stdout_data << "\nlog:\n" << cpp.log());
  CHECK(cont.status == 200);
  CHECK(cont.body == "2 " + id);
  auto stored = memcached_get(memcached.port(), id);
  REQUIRE(stored);
  CHECK(memcached_flags(memcached.port(), id) == std::optional<std::uint32_t>(2));
  CHECK(stored->size() < 20000);
  CHECK(cpp.log().find("not in PHP's") == std::string::npos);

  // PHP sees its large value intact and both increments.
  auto back = php.get("big.php", "PHPSESSID=" + id);
  CHECK(back.body == "3 " + digest + " " + id);
  std::cout << "php interop, compressed session: PHP wrote " << stored->size()
            << " compressed bytes, cppfpm continued it, PHP read back n=" << back.body.substr(0, 1)
            << " with its 36000-byte value intact: " << (back.body == "3 " + digest + " " + id)
            << "\n";
}
