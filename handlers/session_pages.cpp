// The seed's session pages: setSession.php and showSession.php.
#include <cstdio>
#include <string>

#include "handlers/handler.h"
#include "session/session.h"

namespace cppfpm::handlers {
namespace {

// PHP's string conversion of a scalar, as `print` does (precision=14 for floats).
std::string php_print(const session::PhpValue& value) {
  if (auto i = value.as_int()) return std::to_string(*i);
  if (auto s = value.as_string()) return *s;
  if (auto b = value.as_bool()) return *b ? "1" : "";
  if (auto d = value.as_double()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.14G", *d);
    return buf;
  }
  if (value.as_array()) return "Array";
  return "";
}

// The answer when the session store cannot be reached: a clear 503 rather
// than a page with a lost session.
void store_unavailable(server::Response& response) {
  response.status = 503;
  response.body = "Session storage unavailable, please retry.\n";
}

void add_session_headers(const session::Session& s, const Context& ctx, server::Response& response) {
  for (auto& [name, value] : s.headers(ctx.clock.unix_now())) response.add_header(name, value);
}

}  // namespace

void set_session(const server::Request& request, server::Response& response, Context& ctx) {
  session::Session s(ctx.sessions, ctx.session_settings);
  if (s.start(request.cookie_header()) == session::StoreResult::unavailable) return store_unavailable(response);
  auto& vars = s.vars();
  if (!vars.contains("Itcys.top")) vars.set("Itcys.top", session::PhpValue(ctx.clock.unix_now()));
  add_session_headers(s, ctx, response);
  response.write(php_print(*vars.find("Itcys.top")));
  response.write("<br><br>");
  response.write("Session ID: " + s.id());
  if (s.commit() == session::StoreResult::unavailable) {
    response = server::Response{};
    store_unavailable(response);
  }
}

void show_session(const server::Request& request, server::Response& response, Context& ctx) {
  session::Session s(ctx.sessions, ctx.session_settings);
  if (s.start(request.cookie_header()) == session::StoreResult::unavailable) return store_unavailable(response);
  add_session_headers(s, ctx, response);
  // The seed reads the raw memcached value under the bare id with its own
  // connection; session_start() has not written a new session yet.
  std::string raw;
  if (ctx.sessions.read(s.id(), raw) == session::StoreResult::ok)
    response.write("string(" + std::to_string(raw.size()) + ") \"" + raw + "\"\n");
  else
    response.write("bool(false)\n");
  s.commit();
}

}  // namespace cppfpm::handlers
