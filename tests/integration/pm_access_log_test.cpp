// access.log with php-fpm's access.format codes: one line per request with
// the fields the format asks for.
#include <unistd.h>
#include <catch2/catch.hpp>

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

TEST_CASE("access.suppress_path[]: a 2xx GET of the path is left out, anything else is logged",
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

TEST_CASE("access.log: %R is the socket's peer, and /dev/stderr reaches the master's stderr",
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

TEST_CASE("listen = [::1]:port serves IPv6 clients, and %R shows the IPv6 peer",
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
