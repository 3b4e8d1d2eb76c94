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
  AccessRecord rec{req,   res,       1795618800LL * 1000000, 1795618800LL * 1000000 + 1500000,
                   "www", "10.1.2.3"};
  std::string line = format_access_line("%R - %u %t \"%m %r\" %s", rec);
  // %R is the socket's peer, not the REMOTE_ADDR param (php-fpm's
  // fcgi_get_last_client_ip); "-" on a unix socket.
  CHECK(line.rfind("10.1.2.3 - - ", 0) == 0);
  AccessRecord on_unix{req, res, 0, 0, "www", "", 0, 0};
  CHECK(format_access_line("%R", on_unix) == "-");
  CHECK(line.find("\"GET /setSession.php?a=1\" 404") != std::string::npos);
}

TEST_CASE("access_log: every supported code") {
  Request req = sample_request();
  Response res;
  AccessRecord rec{req, res, 1000000, 2500000, "www", "", 0, 0};
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
  // 0.3 s of CPU over 1.5 s; 5 MiB peak.
  AccessRecord measured{req, res, 1000000, 2500000, "www", "", 300000, 5 << 20};
  CHECK(format_access_line("%C %M %{kilo}M %{mega}M", measured) == "20.00 5242880 5120 5");
  CHECK(format_access_line("%u", rec) == "-");
  CHECK(format_access_line("%Z", rec) == "%Z");
  CHECK(format_access_line("trailing %", rec) == "trailing %");
  CHECK(format_access_line("%{unterminated", rec).empty());
}

TEST_CASE("access_log: access.suppress_path as php-fpm 8.2 applies it") {
  const std::vector<std::string> paths = {"/ping", "/health.php"};
  auto check = [&](const char* method, const char* uri, const char* query, const char* body,
                   int status) {
    Request r;
    r.set_param("REQUEST_METHOD", method);
    r.set_param("REQUEST_URI", uri);
    r.set_param("QUERY_STRING", query);
    r.set_body(body);
    Response res;
    res.status = status;
    return suppressed(paths, AccessRecord{r, res, 0, 0, "www", "", 0, 0});
  };
  CHECK(check("GET", "/ping", "", "", 200));
  CHECK(check("HEAD", "/health.php", "", "", 204));
  CHECK_FALSE(check("GET", "/other", "", "", 200));
  CHECK_FALSE(check("POST", "/ping", "", "", 200));
  CHECK_FALSE(check("GET", "/ping", "a=1", "", 200));
  CHECK_FALSE(check("GET", "/ping", "", "x", 200));
  CHECK_FALSE(check("GET", "/ping", "", "", 404));
  CHECK_FALSE(check("GET", "/ping", "", "", 302));
  Request none;
  Response ok;
  CHECK_FALSE(suppressed({}, AccessRecord{none, ok, 0, 0, "www", "", 0, 0}));
}
