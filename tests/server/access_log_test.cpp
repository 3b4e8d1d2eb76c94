#include <catch2/catch.hpp>

#include <unistd.h>

#include "server/access_log.h"

using namespace cppfpm::server;

namespace {

Request sample_request() {
  Request r;
  r.set_param("REMOTE_ADDR", "127.0.0.9");
  r.set_param("REQUEST_METHOD", "GET");
  r.set_param("REQUEST_URI", "/setSession.php?a=1");
  r.set_param("SCRIPT_NAME", "/setSession.php");
  r.set_param("SCRIPT_FILENAME", "/phpPages/setSession.php");
  r.set_param("QUERY_STRING", "a=1");
  r.set_param("HTTP_HOST", "a.com");
  r.set_body("xyz");
  return r;
}

}  // namespace

TEST_CASE("access_log: php-fpm's default format") {
  Request req = sample_request();
  Response res;
  res.status = 404;
  // 2026-11-25 15:00:00 UTC, 1.5 s long
  AccessRecord rec{req, res, 1795618800LL * 1000000, 1795618800LL * 1000000 + 1500000, "www"};
  std::string line = format_access_line("%R - %u %t \"%m %r\" %s", rec);
  CHECK(line.rfind("127.0.0.9 - - ", 0) == 0);
  CHECK(line.find("\"GET /setSession.php?a=1\" 404") != std::string::npos);
}

TEST_CASE("access_log: every supported code") {
  Request req = sample_request();
  Response res;
  AccessRecord rec{req, res, 1000000, 2500000, "www"};
  CHECK(format_access_line("%d", rec) == "1.500");
  CHECK(format_access_line("%{mili}d", rec) == "1500.000");
  CHECK(format_access_line("%{micro}d", rec) == "1500000");
  CHECK(format_access_line("%{HTTP_HOST}e", rec) == "a.com");
  CHECK(format_access_line("%{NOPE}e", rec) == "-");
  CHECK(format_access_line("%f", rec) == "/phpPages/setSession.php");
  CHECK(format_access_line("%l", rec) == "3");
  CHECK(format_access_line("%m %q%Q %n %s %%", rec) == "GET a=1? www 200 %");
  CHECK(format_access_line("%p", rec) == std::to_string(::getpid()));
  CHECK(format_access_line("%{%Y}t", rec) == "1970");
  CHECK(format_access_line("%C %M", rec) == "0.00 0");
  CHECK(format_access_line("%u", rec) == "-");
  CHECK(format_access_line("%Z", rec) == "%Z");
  CHECK(format_access_line("trailing %", rec) == "trailing %");
  CHECK(format_access_line("%{unterminated", rec).empty());
}
