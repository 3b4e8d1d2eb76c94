#include <catch2/catch.hpp>

#include "handlers/router.h"

using namespace cppfpm;

namespace {

server::Request with_script(std::string script) {
  server::Request r;
  r.set_param("SCRIPT_NAME", std::move(script));
  return r;
}

}  // namespace

TEST_CASE("router: a page is found with and without .php") {
  handlers::Router router;
  int hits = 0;
  router.add("/setSession",
             [&](const server::Request&, server::Response&, handlers::Context&) { ++hits; });
  CHECK(router.find(with_script("/setSession.php")) != nullptr);
  CHECK(router.find(with_script("/setSession")) != nullptr);
  CHECK(router.find(with_script("/setsession.php")) == nullptr);
  CHECK(router.find(with_script("/other.php")) == nullptr);
  CHECK(router.find(with_script("")) == nullptr);
  CHECK(router.find(with_script(".php")) == nullptr);
}

TEST_CASE("router: falls back to DOCUMENT_URI and REQUEST_URI without SCRIPT_NAME") {
  handlers::Router router;
  router.add("/testMySQL.php",
             [](const server::Request&, server::Response&, handlers::Context&) {});
  server::Request a;
  a.set_param("DOCUMENT_URI", "/testMySQL.php");
  CHECK(router.find(a) != nullptr);
  server::Request b;
  b.set_param("REQUEST_URI", "/testMySQL.php?x=1");
  CHECK(router.find(b) != nullptr);
}

TEST_CASE("router: the unknown-script answer is php-fpm's") {
  server::Response r;
  handlers::Router::not_found(r);
  CHECK(server::to_cgi(r) ==
        "Status: 404 Not Found\r\nContent-type: text/html; charset=UTF-8\r\n\r\nFile not found.\n");
}

TEST_CASE("response: headers keep their order and the default content type comes last") {
  server::Response r;
  r.add_header("Set-Cookie", "PHPSESSID=abc; path=/");
  r.add_header("Pragma", "no-cache");
  r.write("hi");
  CHECK(server::to_cgi(r) ==
        "Set-Cookie: PHPSESSID=abc; path=/\r\nPragma: no-cache\r\nContent-type: text/html; "
        "charset=UTF-8\r\n\r\nhi");
  server::Response typed;
  typed.add_header("Content-Type", "text/plain");
  CHECK(server::to_cgi(typed) == "Content-Type: text/plain\r\n\r\n");
}
