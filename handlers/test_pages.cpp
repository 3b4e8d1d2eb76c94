// Pages for the test suites only: compiled with the CMake option
// CPPFPM_TEST_PAGES (never in a release build), registered when the
// environment has CPPFPM_TEST_PAGES=1: a page that takes as long as asked, to exercise
// request_terminate_timeout, the slowlog and the pm under load.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "handlers/handler.h"
#include "server/text/query_string.h"
#include "session/session.h"

namespace cppfpm::handlers {
namespace {

// $_GET[name] read as PHP's (int) would, for the page's small numbers.
long query_number(std::string_view query, std::string_view name, long fallback) {
  auto value = text::parse_query_string(query).string_at(name);
  if (!value) return fallback;
  try {
    return std::stol(*value);
  } catch (const std::exception&) {
    return fallback;
  }
}

void sleep_page(const server::Request& request, server::Response& response, Context&) {
  long ms = query_number(request.query_string(), "ms", 1000);
  if (ms < 0) ms = 0;
  if (ms > 600000) ms = 600000;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  response.write("slept " + std::to_string(ms) + "\n");
}

// Burns ?ms=N milliseconds of this thread's CPU (CLOCK_THREAD_CPUTIME_ID),
// however long that takes on a loaded machine: the status page's
// `last request cpu` and the access log's %C have something to measure.
void spin_page(const server::Request& request, server::Response& response, Context&) {
  long ms = std::clamp(query_number(request.query_string(), "ms", 100), 0L, 10000L);
  auto cpu_ms = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  };
  long until = cpu_ms() + ms;
  volatile std::uint64_t sink = 0;
  while (cpu_ms() < until)
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  response.write("spun " + std::to_string(ms) + "\n");
}

// $_SESSION['n']++ and print it, after holding the session ?ms=N
// milliseconds: the read-modify-write that session locking must serialize.
void counter_page(const server::Request& request, server::Response& response, Context& ctx) {
  session::Session s(ctx.sessions, ctx.session_settings);
  if (auto started = s.start(request.cookie_header(), request.query_string());
      started != session::StoreResult::ok) {
    response.status = 503;
    if (started == session::StoreResult::busy) response.add_header("Retry-After", "1");
    response.body = started == session::StoreResult::busy ? "busy\n" : "unavailable\n";
    return;
  }
  std::int64_t n = 0;
  if (const auto* value = s.vars().find("n"); value && value->as_int()) n = *value->as_int();
  long ms = query_number(request.query_string(), "ms", 0);
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 60000L)));
  s.vars().set("n", session::PhpValue(n + 1));
  for (auto& [name, value] : s.headers(ctx.clock.unix_now())) response.add_header(name, value);
  if (s.commit() != session::StoreResult::ok) {
    response = server::Response{};
    response.status = 503;
    response.body = "unavailable\n";
    return;
  }
  response.write(std::to_string(n + 1) + " " + s.id());
}

}  // namespace

// /__test/env?NAME: the child's getenv(NAME), or "(unset)"; shows what
// env[...] and clear_env gave the worker processes.
void env_page(const server::Request& request, server::Response& response, Context&) {
  std::string name(request.query_string());
  const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
  response.write(value ? value : "(unset)");
}

// /__test/say?TEXT: writes TEXT and a newline to stdout, then "err:" TEXT
// to stderr, as a page's stray output (catch_workers_output).
void say_page(const server::Request& request, server::Response& response, Context&) {
  std::string text(request.query_string());
  std::fprintf(stdout, "%s\n", text.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "err:%s\n", text.c_str());
  response.write("said\n");
}

std::vector<Route> test_routes() {
  return {{"/__test/sleep", sleep_page},
          {"/__test/spin", spin_page},
          {"/__test/counter", counter_page},
          {"/__test/env", env_page},
          {"/__test/say", say_page}};
}

}  // namespace cppfpm::handlers
