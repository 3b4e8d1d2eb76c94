// PHP interop behind one nginx: Debian's php8.2-fpm serves the seed's pages
// under /php/ and cppfpm serves every other *.php (deploy/nginx's block, as
// shipped), both on one memcached. Cookies travel over HTTP as a browser's:
// a session made by PHP continues in cppfpm and one made by cppfpm continues
// in PHP (same id, same timestamp, no new Set-Cookie); each side waits for a
// lock the other holds, and a counter incremented in parallel through both
// ends at the number of increments. Once with pecl-memcache (the bare id and
// `<id>.lock`), once with php-memcached (`memc.sess.key.<id>` and
// `memc.sess.key.lock.<id>`; cppfpm's pool says, as a php-memcached pool
// file does, php_value[session.save_handler] = memcached, and cppfpm adopts
// that layout). Skipped, saying why, without PHP.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/cppfpm.h"
#include "support/http_client.h"
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

// The PHP extension that keeps the sessions (also its session.save_handler),
// and how cppfpm shares them.
struct Flavour {
  std::string package;                  // Debian's
  std::string extension;                // "memcache" (pecl-memcache) or "memcached"
  std::vector<std::string> load_order;  // -d extension=... (php-memcached needs its serializers)
  std::string key_prefix;               // where both keep a session: key_prefix + id
  ConfigKeys cppfpm_keys;               // cppfpm's session.* keys for this extension
  std::string php_ini;                  // more php-fpm pool lines
  bool pecl() const { return extension == "memcache"; }
  std::string lock_key(const std::string& id) const {
    return pecl() ? key_prefix + id + ".lock" : key_prefix + "lock." + id;
  }
};

const Flavour kPeclMemcache{.package = "php8.2-memcache",
                            .extension = "memcache",
                            .load_order = {"memcache"},
                            .key_prefix = "",
                            .cppfpm_keys = {},
                            .php_ini = ""};
const Flavour kPhpMemcached{
    .package = "php8.2-memcached",
    .extension = "memcached",
    .load_order = {"igbinary", "msgpack", "memcached"},
    .key_prefix = "memc.sess.key.",
    .cppfpm_keys = {{"php_value[session.save_handler]", "memcached"}},
    // Its default patience, 5 retries 150 ms apart, is shorter than 16 requests queued on one
    // session: 2 or 3 of PHP's 8 gave up (session_start() false) in every run, none was lost.
    .php_ini = "php_admin_value[memcached.sess_lock_retries] = 40\n"};

std::vector<std::string> php_extension_args(const Flavour& f) {
  std::vector<std::string> args{"-n"};
  for (const auto& e : f.load_order) args.insert(args.end(), {"-d", "extension=" + e});
  return args;
}

std::string read_or_empty(const fs::path& path) {
  try {
    return read_file(path);
  } catch (const std::exception&) {
    return {};
  }
}

// Installs php8.2-fpm and the extension when missing; false if it cannot.
bool php_available(const fs::path& dir, const Flavour& f) {
  auto loaded = [&] {
    auto argv = php_extension_args(f);
    argv.insert(argv.begin(), "php8.2");
    argv.insert(argv.end(), {"-r", "exit(extension_loaded('" + f.extension + "') ? 0 : 1);"});
    return fs::exists(kPhpFpm) && run_command(argv, dir / "probe.log", 30s) == 0;
  };
  if (loaded()) return true;
  ProcessOptions options;
  options.env = {{"DEBIAN_FRONTEND", "noninteractive"}};
  run_command({"apt-get", "install", "-y", "-q", "php8.2-fpm", f.package}, dir / "apt.log", 300s,
              options);
  return loaded();
}

// php8.2-fpm with the seed's pages under `dir`/www/php/, and a counter that
// holds the session ?ms=N milliseconds (503 when session_start() fails).
class PhpFpm {
 public:
  PhpFpm(const fs::path& dir, int memcached_port, const Flavour& f)
      : dir_(dir), port_(free_loopback_port()) {
    const std::string mc = std::to_string(memcached_port);
    fs::create_directories(www() / "php");
    write_file(www() / "php/setSession.php",
               "<?php\nsession_start();\nif (!isset($_SESSION['Itcys.top'])) {\n"
               "    $_SESSION['Itcys.top'] = time();\n}\nprint $_SESSION['Itcys.top'];\n"
               "print \"<br><br>\";\nprint \"Session ID: \" . session_id();\n");
    // The seed's page; php-memcached's client has its own class and keeps the session under
    // a prefix.
    write_file(
        www() / "php/showSession.php",
        "<?php\nsession_start();\n" +
            (f.pecl() ? "$mem = new Memcache;\n$mem->connect('127.0.0.1', " + mc + ");\n"
                      : "$mem = new Memcached;\n$mem->addServer('127.0.0.1', " + mc + ");\n") +
            "var_dump($mem->get('" + f.key_prefix + "' . session_id()));\n");
    write_file(www() / "php/counter.php",
               "<?php\nif (!session_start()) { http_response_code(503); print 'busy'; exit; }\n"
               "$n = $_SESSION['n'] ?? 0;\nusleep(1000 * (int)($_GET['ms'] ?? 0));\n"
               "$_SESSION['n'] = $n + 1;\nprint ($n + 1) . ' ' . session_id();\n");
    write_file(dir / "php-fpm.conf",
               "[global]\npid = " + (dir / "php-fpm.pid").string() +
                   "\nerror_log = " + (dir / "php-fpm.log").string() +
                   "\ndaemonize = no\n[www]\nlisten = 127.0.0.1:" + std::to_string(port_) +
                   "\nuser = root\ngroup = root\npm = static\npm.max_children = 8\n"
                   "php_admin_value[session.save_handler] = " +
                   f.extension + "\nphp_admin_value[session.save_path] = \"" +
                   (f.pecl() ? "tcp://" : "") + "127.0.0.1:" + mc +
                   "\"\n"
                   // Debian's php.ini values (PHP's built-in ones are 32 and 4).
                   "php_admin_value[session.sid_length] = 26\n"
                   "php_admin_value[session.sid_bits_per_character] = 5\n" +
                   f.php_ini);
    auto argv = php_extension_args(f);
    argv.insert(argv.begin(), kPhpFpm);
    argv.insert(argv.end(),
                {"-d", "display_errors=0", "-R", "-F", "-y", (dir / "php-fpm.conf").string()});
    process_ = std::make_unique<Process>(argv, dir / "php-fpm.out");
    if (!process_->wait_for_port(port_, 10s))
      throw std::runtime_error("php-fpm8.2 did not start:\n" + process_->log() + log());
  }
  int port() const { return port_; }
  fs::path www() const { return dir_ / "www"; }
  std::string log() const { return read_or_empty(dir_ / "php-fpm.log"); }

 private:
  fs::path dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

// deploy/nginx/nginx.conf.in with a location for PHP's pages put before
// the shipped `location ~ \.php$` block (regex locations match in order).
const char* const kFrontConf = R"(@USER_LINE@
master_process on;
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log notice;
events {
    worker_connections 1024;
}
http {
    access_log @DIR@/access.log;
    client_body_temp_path @DIR@/client_body;
    proxy_temp_path @DIR@/proxy;
    fastcgi_temp_path @DIR@/fastcgi;
    uwsgi_temp_path @DIR@/uwsgi;
    scgi_temp_path @DIR@/scgi;
    upstream phpServers {
        server 127.0.0.1:@CPPFPM_PORT@;
        keepalive 16;
    }
    upstream phpFpm {
        server 127.0.0.1:@PHP_PORT@;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        location ~ ^/php/.*\.php$ {
            root           @PHP_ROOT@;
            fastcgi_pass   phpFpm;
            fastcgi_keep_conn on;
            fastcgi_param  SCRIPT_FILENAME  $document_root$fastcgi_script_name;
            include        fastcgi_params;
        }
        include @NGINX_DIR@/php-location.conf;
    }
}
)";

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// nginx in front of both: /php/*.php to php-fpm, every other *.php to
// cppfpm through deploy/nginx/php-location.conf as deploy/lemmp ships it.
class Front {
 public:
  Front(const fs::path& dir, int cppfpm_port, int php_port, const fs::path& php_root)
      : dir_(dir), port_(free_loopback_port()) {
    fs::create_directories(dir);
    fs::copy_file("/etc/nginx/fastcgi_params", dir / "fastcgi_params",
                  fs::copy_options::overwrite_existing);
    const std::string d = dir.string();
    std::string conf = kFrontConf;
    replace_all(conf, "@USER_LINE@", ::geteuid() == 0 ? "user root;" : "");
    replace_all(conf, "@DIR@", d);
    replace_all(conf, "@CPPFPM_PORT@", std::to_string(cppfpm_port));
    replace_all(conf, "@PHP_PORT@", std::to_string(php_port));
    replace_all(conf, "@HTTP_PORT@", std::to_string(port_));
    replace_all(conf, "@PHP_ROOT@", php_root.string());
    replace_all(conf, "@NGINX_DIR@", CPPFPM_SOURCE_DIR "/deploy/nginx");
    write_file(dir / "nginx.conf", conf);
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"nginx", "-p", d, "-c", d + "/nginx.conf", "-e", d + "/error.log",
                                 "-g", "daemon off;"},
        dir / "nginx.out");
    if (!process_->wait_for_port(port_, 10s))
      throw std::runtime_error("nginx did not start: " + process_->log() + error_log());
  }
  int port() const { return port_; }
  std::string error_log() const { return read_or_empty(dir_ / "error.log"); }

 private:
  fs::path dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

// http_get, but a failure (timeout, refused) is an empty answer: for threads.
HttpResponse get(int port, const std::string& path, const std::string& cookie) {
  try {
    return http_get(port, path, cookie, 30s);
  } catch (const std::exception& e) {
    HttpResponse none;
    none.body = e.what();
    return none;
  }
}

long count_of(const HttpResponse& r) {
  if (r.status != 200) return -1;
  try {
    return std::stol(r.body.substr(0, r.body.find(' ')));
  } catch (const std::exception&) {
    return -1;
  }
}

// What memcached holds under `key` right now: "flags=F value=V exp=in Ns".
std::string describe_item(int port, const std::string& key) {
  auto flags = memcached_flags(port, key);
  std::string out = "flags=" + (flags ? std::to_string(*flags) : "-") +
                    " value=" + memcached_get(port, key).value_or("-");
  for (const auto& item : memcached_items(port))
    if (item.key == key)
      out += " exp=" +
             (item.exptime < 0 ? "never" : "in " + std::to_string(item.exptime - unix_now()) + "s");
  return out;
}

// Every key memcached holds that names session `id`, polled until one of
// them is `wanted` and held (or 3 s pass): pecl-memcache leaves a released
// lock in place with the value 0, which holds nothing.
std::vector<std::string> keys_until(int port, const std::string& id, const std::string& wanted) {
  std::vector<std::string> keys;
  for (auto deadline = std::chrono::steady_clock::now() + 3s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(5ms)) {
    keys.clear();
    for (const auto& item : memcached_items(port))
      if (item.key.find(id) != std::string::npos) keys.push_back(item.key);
    std::sort(keys.begin(), keys.end());
    if (std::find(keys.begin(), keys.end(), wanted) != keys.end() &&
        memcached_get(port, wanted).value_or("0") != "0")
      break;
  }
  return keys;
}

// One side holds the session's lock `hold_ms` in its counter page while the
// other increments: the other must wait, so neither increment is lost.
// Returns what memcached showed while the holder held it.
std::string hold_and_increment(int http, int mc, const Flavour& f, const std::string& cookie,
                               const std::string& id, bool php_holds, int hold_ms) {
  const std::string php_page = "/php/counter.php", cpp_page = "/__test/counter.php";
  const long before = count_of(get(http, php_page, cookie));
  REQUIRE(before > 0);
  HttpResponse held;
  std::thread holder([&] {
    held = get(http, (php_holds ? php_page : cpp_page) + "?ms=" + std::to_string(hold_ms), cookie);
  });
  const auto keys = keys_until(mc, id, f.lock_key(id));
  std::string seen = php_holds ? "PHP holds: keys {" : "cppfpm holds: keys {";
  for (const auto& key : keys) seen += key + (&key == &keys.back() ? "" : ", ");
  seen += "}, " + f.lock_key(id) + " " + describe_item(mc, f.lock_key(id));
  const auto start = std::chrono::steady_clock::now();
  auto waiter = get(http, php_holds ? cpp_page : php_page, cookie);
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  holder.join();
  INFO(seen << "; the other side waited " << waited.count() << " ms and answered " << waiter.status
            << " " << waiter.body);
  CHECK(std::find(keys.begin(), keys.end(), f.lock_key(id)) != keys.end());
  CHECK(count_of(held) == before + 1);
  CHECK(count_of(waiter) == before + 2);  // read after the holder's write
  return seen + ", the other waited " + std::to_string(waited.count()) + " ms";
}

void run_interop(const Flavour& f) {
  TempDir dir("cppfpm-php-nginx-");
  if (!php_available(dir.path(), f)) {
    WARN("SKIPPED: php8.2-fpm with " << f.package
                                     << " is not installed and apt-get could not install it (see "
                                     << (dir / "apt.log") << ")");
    return;
  }
  fs::create_directories(dir / "memcached");
  Memcached memcached(dir / "memcached");
  const int mc = memcached.port();
  PhpFpm php(dir / "php", mc, f);
  ConfigKeys pool = default_pool(free_loopback_port(), mc, shared_mariadb().port);
  for (const auto& [key, value] : f.cppfpm_keys) set_key(pool, key, value);
  Cppfpm cpp(dir / "cppfpm", pool);
  Front nginx(dir / "nginx", cpp.port(), php.port(), php.www());
  const int http = nginx.port();
  auto logs = [&] {
    return "nginx error log:\n" + nginx.error_log() + "php-fpm log:\n" + php.log() +
           "cppfpm log:\n" + cpp.log();
  };

  constexpr int kEach = 30;
  int php_to_cpp = 0, cpp_to_php = 0;
  std::string php_id, cpp_id;
  for (int i = 0; i < kEach; ++i) {
    for (bool php_first : {true, false}) {
      const std::string first = php_first ? "/php/setSession.php" : "/setSession.php";
      const std::string second = php_first ? "/setSession.php" : "/php/setSession.php";
      CookieJar browser;
      auto made = http_get(http, first, browser);
      INFO("made by " << first << ": " << made.status << " " << made.body << "\n" << logs());
      auto made_page = parse_set_session(made.body);
      REQUIRE(made_page);
      REQUIRE(browser.get("PHPSESSID") == std::optional<std::string>(made_page->id));
      REQUIRE(is_session_id(made_page->id));
      auto cont = http_get(http, second, browser);
      auto cont_page = parse_set_session(cont.body);
      const bool same = cont.status == 200 && cont_page && cont_page->id == made_page->id &&
                        cont_page->timestamp == made_page->timestamp &&
                        cont.all("Set-Cookie").empty();
      (php_first ? php_to_cpp : cpp_to_php) += same ? 1 : 0;
      (php_first ? php_id : cpp_id) = made_page->id;
      if (i > 0) continue;
      // Stored once, under key_prefix + id, read the same by both showSession pages.
      const std::string value = stored_session_value(made_page->timestamp);
      CHECK(memcached_get(mc, f.key_prefix + made_page->id) == std::optional<std::string>(value));
      if (!f.key_prefix.empty()) CHECK_FALSE(memcached_get(mc, made_page->id));
      auto shown_php = http_get(http, "/php/showSession.php", browser);
      auto shown_cpp = http_get(http, "/showSession.php", browser);
      CHECK(shown_php.body == var_dump_string(value));
      CHECK(shown_cpp.body == shown_php.body);
    }
  }
  CHECK(php_to_cpp == kEach);
  CHECK(cpp_to_php == kEach);

  // Each side waits for the other's lock: on a PHP-made session, then on a cppfpm-made one.
  const std::string php_holding =
      hold_and_increment(http, mc, f, "PHPSESSID=" + php_id, php_id, true, 1000);
  const std::string cpp_holding =
      hold_and_increment(http, mc, f, "PHPSESSID=" + cpp_id, cpp_id, false, 400);

  // One counter, incremented in parallel through nginx by PHP and by cppfpm.
  const std::string cookie = "PHPSESSID=" + cpp_id;
  const long base = count_of(get(http, "/php/counter.php", cookie));
  REQUIRE(base > 0);
  constexpr int kParallel = 16;  // half PHP, half cppfpm
  std::vector<long> seen(kParallel, -1);
  run_together(kParallel, [&](int i) {
    seen[i] =
        count_of(get(http, i % 2 ? "/php/counter.php?ms=20" : "/__test/counter.php?ms=20", cookie));
  });
  const long final_count = count_of(get(http, "/__test/counter.php", cookie));
  // Refused (session_start() gave up waiting) is not lost: lost is an increment overwritten.
  const long refused = std::count(seen.begin(), seen.end(), -1);
  const long counted = final_count - base - 1, lost = kParallel - refused - counted;
  std::erase(seen, -1);
  std::sort(seen.begin(), seen.end());
  std::vector<long> expected(seen.size());
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = base + 1 + long(i);
  INFO(logs());
  CHECK(seen == expected);  // every increment saw the one before it
  CHECK(lost == 0);
  CHECK(refused == 0);
  CHECK(counted == kParallel);
  std::cout << "php interop via nginx (" << f.package << "): " << kEach
            << " PHP sessions continued in cppfpm: " << php_to_cpp << ", " << kEach
            << " cppfpm sessions continued in PHP: " << cpp_to_php
            << ", lost: " << (2 * kEach - php_to_cpp - cpp_to_php) << "; " << php_holding << "; "
            << cpp_holding << "; counter after " << kParallel
            << " mixed parallel increments: " << counted << " (refused " << refused << ", lost "
            << lost << ")\n";
}

}  // namespace

TEST_CASE("php interop via nginx: pecl-memcache and cppfpm share sessions and locks",
          "[session][php][memcached][nginx]") {
  run_interop(kPeclMemcache);
}

TEST_CASE("php interop via nginx: php-memcached and cppfpm share sessions and locks",
          "[session][php][memcached][nginx]") {
  run_interop(kPhpMemcached);
}
