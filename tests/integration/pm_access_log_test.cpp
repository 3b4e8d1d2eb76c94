// access.log with php-fpm's access.format codes: one line per request with
// the fields the format asks for.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string field; std::getline(in, field, sep);) out.push_back(field);
  return out;
}

}  // namespace

TEST_CASE("access.log: access.format codes give the request's fields", "[pm][access_log]") {
  TempDir logs("cppfpm-pm-logs-");
  auto access = logs / "access.log";
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "access.log", access.string());
  set_key(pool, "access.format", "\"%R|%m|%r|%s|%f|%n|%p|%P|%q|%Q|%{mili}d|%u|%{HTTP_HOST}e|%%\"");
  PmServer fpm(pool);
  REQUIRE(fpm.wait_children(1, 3s));
  pid_t child = fpm.children().front();

  REQUIRE(fpm.get("/setSession.php", "a=1").status == 200);
  REQUIRE(fpm.get("/missing.php").status == 404);
  REQUIRE(fpm.get("/__test/sleep", "ms=300").status == 200);
  REQUIRE(wait_until([&] { return lines_of(read_file(access)).size() >= 3; }, 1s));
  auto lines = lines_of(read_file(access));
  INFO("access.log:\n" << read_file(access));
  REQUIRE(lines.size() == 3);

  auto f = split(lines[0], '|');
  REQUIRE(f.size() == 14);
  CHECK(f[0] == "127.0.0.1");
  CHECK(f[1] == "GET");
  CHECK(f[2] == "/setSession.php?a=1");
  CHECK(f[3] == "200");
  CHECK(f[4] == "/phpPages/setSession.php");
  CHECK(f[5] == "www");
  CHECK(f[6] == std::to_string(child));
  CHECK(f[7] == std::to_string(fpm.pid()));
  CHECK(f[8] == "a=1");
  CHECK(f[9] == "?");
  CHECK(std::regex_match(f[10], std::regex(R"(\d+\.\d{3})")));
  CHECK((f[11] == "-" || f[11].empty()));  // no REMOTE_USER
  CHECK(f[12] == "127.0.0.1");
  CHECK(f[13] == "%");

  auto missing = split(lines[1], '|');
  REQUIRE(missing.size() == 14);
  CHECK(missing[2] == "/missing.php");
  CHECK(missing[3] == "404");
  CHECK(missing[8] == "");
  CHECK(missing[9] == "");

  auto slow = split(lines[2], '|');
  REQUIRE(slow.size() == 14);
  CHECK(std::stod(slow[10]) >= 300.0);
  CHECK(std::stod(slow[10]) < 1000.0);
}

TEST_CASE("access.log: php-fpm's default access.format", "[pm][access_log]") {
  TempDir logs("cppfpm-pm-logs-");
  auto access = logs / "access.log";
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "access.log", access.string());
  PmServer fpm(pool);
  REQUIRE(fpm.get("/showSession.php").status == 200);
  REQUIRE(wait_until([&] { return !lines_of(read_file(access)).empty(); }, 1s));
  auto lines = lines_of(read_file(access));
  INFO("access.log:\n" << read_file(access));
  REQUIRE(lines.size() == 1);
  // %R - %u %t "%m %r" %s
  CHECK(std::regex_match(
      lines[0],
      std::regex(
          R"(127\.0\.0\.1 - -? \d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4} "GET /showSession\.php" 200)")));
}

TEST_CASE("access.suppress_path: a 2xx GET of the path is left out and anything else is logged",
          "[pm][access_log]") {
  TempDir logs("cppfpm-pm-logs-");
  auto access = logs / "access.log";
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "access.log", access.string());
  set_key(pool, "access.format", "\"%m %r %s\"");
  pool.emplace_back("access.suppress_path[]", "/ping");
  pool.emplace_back("access.suppress_path[]", "/showSession.php");
  PmServer fpm(pool);
  REQUIRE(fpm.get("/ping").status == 200);                    // left out
  REQUIRE(fpm.get("/showSession.php").status == 200);         // left out
  REQUIRE(fpm.get("/showSession.php", "a=1").status == 200);  // a query: logged
  REQUIRE(fpm.get("/status").status == 200);                  // another path: logged
  REQUIRE(fpm.get("/nope.php").status == 404);                // logged
  Params head = nginx_params("/ping");
  for (auto& [name, value] : head)
    if (name == "REQUEST_METHOD") value = "POST";
  PmClient(fpm.endpoint).request(head);  // not GET or HEAD: logged
  std::vector<std::string> want = {"GET /showSession.php?a=1 200", "GET /status 200",
                                   "GET /nope.php 404", "POST /ping 200"};
  REQUIRE(wait_until([&] { return lines_of(read_file(access)).size() >= want.size(); }, 2s));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  INFO("access.log:\n" << read_file(access));
  CHECK(lines_of(read_file(access)) == want);
}

TEST_CASE("access.log: %R is the socket's peer and /dev/stderr reaches the master's stderr",
          "[pm][access_log]") {
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "access.log", "/dev/stderr");
  set_key(pool, "access.format", "\"peer=%R uri=%r\"");
  set_key(pool, "user", "nobody");
  PmServer fpm(pool);
  Params params = nginx_params("/ping");
  for (auto& [name, value] : params)
    if (name == "REMOTE_ADDR") value = "10.9.8.7";  // what nginx says; php-fpm logs the socket's
  REQUIRE(PmClient(fpm.endpoint, "127.0.0.5").request(params).status == 200);
  bool logged = wait_until(
      [&] { return fpm.log().find("peer=127.0.0.5 uri=/ping\n") != std::string::npos; }, 3s);
  INFO(fpm.log());
  CHECK(logged);
  CHECK(fpm.log().find("10.9.8.7") == std::string::npos);
}

TEST_CASE("listen = ::1 with a port serves IPv6 clients and %R shows the IPv6 peer",
          "[pm][access_log][listen]") {
  TempDir logs("cppfpm-pm-logs-");
  auto access = logs / "access.log";
  Endpoint at{"::1", free_loopback_port(), {}};
  auto pool = pm_pool(at);
  set_key(pool, "access.log", access.string());
  set_key(pool, "access.format", "%R %r");
  PmServer fpm(pool);
  CHECK(pm_get(at, "/ping").body == "pong");
  REQUIRE(wait_until([&] { return !lines_of(read_file(access)).empty(); }, 2s));
  CHECK(lines_of(read_file(access)).front() == "::1 /ping");
}

TEST_CASE("access.suppress_path: the same lines left out as php-fpm8.2", "[pm][access_log][php]") {
  if (!std::filesystem::exists("/usr/sbin/php-fpm8.2")) {
    WARN("php-fpm8.2 is not installed: skipped");
    return;
  }
  // GET, GET with a query, POST, and a 404, each on a suppressed path.
  auto requests = [](const Endpoint& at, const std::string& script_file) {
    auto send = [&](const std::string& method, const std::string& script,
                    const std::string& query) {
      Params params = nginx_params(script, {}, query);
      for (auto& [name, value] : params) {
        if (name == "REQUEST_METHOD") value = method;
        if (name == "SCRIPT_FILENAME" && !script_file.empty() && script == "/showSession.php")
          value = script_file;
      }
      PmClient(at).request(params);
    };
    send("GET", "/showSession.php", "");
    send("GET", "/showSession.php", "a=1");
    send("POST", "/showSession.php", "");
    send("GET", "/nope.php", "");
  };
  const std::string format = "\"%m %s [%q]\"";
  TempDir logs("cppfpm-pm-logs-");
  auto ours_log = logs / "ours.log";
  auto pool = pm_pool(loopback_endpoint());
  set_key(pool, "access.log", ours_log.string());
  set_key(pool, "access.format", format);
  pool.emplace_back("access.suppress_path[]", "/showSession.php");
  pool.emplace_back("access.suppress_path[]", "/nope.php");
  PmServer fpm(pool);
  requests(fpm.endpoint, "");

  std::filesystem::permissions(
      logs.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                       std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                       std::filesystem::perms::others_exec);
  write_file(logs / "showSession.php", "<?php echo 'ok';\n");
  auto theirs_log = logs / "theirs.log";
  int port = free_loopback_port();
  write_file(logs / "php-fpm.conf",
             "[global]\nerror_log = " + (logs / "php.log").string() +
                 "\npid = " + (logs / "php.pid").string() +
                 "\n[www]\nlisten = 127.0.0.1:" + std::to_string(port) +
                 "\nuser = nobody\npm = static\npm.max_children = 1\naccess.log = " +
                 theirs_log.string() + "\naccess.format = " + format +
                 "\naccess.suppress_path[] = /showSession.php\n"
                 "access.suppress_path[] = /nope.php\n");
  Process php({"/usr/sbin/php-fpm8.2", "-n", "-F", "-y", (logs / "php-fpm.conf").string()},
              logs / "php.out");
  REQUIRE(php.wait_for_port(port, 10s));
  requests(Endpoint{"127.0.0.1", port, {}}, (logs / "showSession.php").string());
  auto settled = [&](const std::filesystem::path& p) {
    return wait_until([&] { return lines_of(read_file(p)).size() >= 3; }, 3s);
  };
  REQUIRE(settled(ours_log));
  REQUIRE(settled(theirs_log));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  INFO("ours:\n" << read_file(ours_log) << "theirs:\n" << read_file(theirs_log));
  // php-fpm 8.2 logs the query, the POST and the 404; so does cppfpm.
  CHECK(lines_of(read_file(ours_log)) == lines_of(read_file(theirs_log)));
  CHECK(lines_of(read_file(ours_log)) ==
        std::vector<std::string>{"GET 200 [a=1]", "POST 200 []", "GET 404 []"});
}
