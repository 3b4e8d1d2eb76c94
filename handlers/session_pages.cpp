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

// The answer when the session store cannot be reached, or another request
// held the session's lock for longer than session.lock_wait: a clear 503
// rather than a page with a lost session. The store logs the outage once.
// A busy session says when to come back (Retry-After, as for any 503 that
// passes: the holder is usually done within a second).
void store_unavailable(server::Response& response, session::StoreResult why) {
  response.status = 503;
  if (why == session::StoreResult::busy) response.add_header("Retry-After", "1");
  response.body = why == session::StoreResult::busy
                      ? "Session busy: another request holds it, please retry.\n"
                      : "Session storage unavailable, please retry.\n";
}

void add_session_headers(const session::Session& s, const Context& ctx,
                         server::Response& response) {
  for (auto& [name, value] : s.headers(ctx.clock.unix_now())) response.add_header(name, value);
}

}  // namespace

void set_session(const server::Request& request, server::Response& response, Context& ctx) {
  session::Session s(ctx.sessions, ctx.session_settings);
  if (auto started = s.start(request.cookie_header(), request.query_string());
      started != session::StoreResult::ok)
    return store_unavailable(response, started);
  auto& vars = s.vars();
  if (!vars.contains("Itcys.top")) vars.set("Itcys.top", session::PhpValue(ctx.clock.unix_now()));
  add_session_headers(s, ctx, response);
  response.write(php_print(*vars.find("Itcys.top")));
  response.write("<br><br>");
  response.write("Session ID: ");
  response.write(s.id());
  if (auto committed = s.commit(); committed == session::StoreResult::unavailable) {
    response = server::Response{};
    store_unavailable(response, committed);
  }
}

void show_session(const server::Request& request, server::Response& response, Context& ctx) {
  session::Session s(ctx.sessions, ctx.session_settings);
  if (auto started = s.start(request.cookie_header(), request.query_string());
      started != session::StoreResult::ok)
    return store_unavailable(response, started);
  add_session_headers(s, ctx, response);
  // The seed reads the raw memcached value under the bare id with its own
  // connection (under session.key_prefix + id here); session_start() has
  // not written a new session yet.
  std::string raw;
  const session::StoreResult read = ctx.sessions.read(s.store_key(), raw);
  if (read == session::StoreResult::unavailable) {
    response = server::Response{};
    return store_unavailable(response, read);
  }
  if (read == session::StoreResult::ok) {
    char size[24];
    std::snprintf(size, sizeof(size), "%zu", raw.size());
    response.write("string(");
    response.write(size);
    response.write(") \"");
    response.write(raw);
    response.write("\"\n");
  } else
    response.write("bool(false)\n");
  s.commit();
}

}  // namespace cppfpm::handlers
