// `listen` is parsed once (server/fastcgi/listen_address): what `cppfpm -t`
// accepts, cppfpm starts on, and what it refuses stops the start too. As
// php-fpm reads it, a value without a ':' or a port is a unix socket path,
// a relative one relative to the working directory.
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "support/pm_server.h"

using namespace cppfpm::test;

namespace {

struct Started {
  int check_exit = -1;      // `cppfpm -t`
  std::optional<int> exit;  // the start's exit code, nullopt while it serves
  std::unique_ptr<Process> process;
};

// `cppfpm -t` and then `cppfpm -F` on a pool listening at `listen`, both
// run in `dir`; a start that serves is left running in `process`.
Started check_then_start(const TempDir& dir, const std::string& listen,
                         const Endpoint& client_side) {
  auto pool = pm_pool(client_side);
  set_key(pool, "listen", listen);
  const auto config = dir / "cppfpm.conf";
  write_file(config, fpm_config(pool));
  ProcessOptions options;
  options.cwd = dir.path();
  Started s;
  s.check_exit = run_command({CPPFPM_BINARY, "-R", "-t", "-y", config.string()}, dir / "check.log",
                             20s, options);
  s.process = std::make_unique<Process>(
      std::vector<std::string>{CPPFPM_BINARY, "-R", "-F", "-y", config.string()}, dir / "start.log",
      options);
  wait_until(
      [&] {
        return !s.process->running() ||
               s.process->log().find("ready to handle connections") != std::string::npos;
      },
      10s);
  if (auto status = s.process->exit_status(); status && WIFEXITED(*status))
    s.exit = WEXITSTATUS(*status);
  else if (status)
    s.exit = 128 + WTERMSIG(*status);
  return s;
}

}  // namespace

TEST_CASE("listen = relative.sock: a unix socket in the working directory, served",
          "[pm][listen]") {
  TempDir dir("cppfpm-relative-");
  const Endpoint at{"", 0, dir / "relative.sock"};
  Started s = check_then_start(dir, "relative.sock", at);
  INFO("check:\n" << read_file(dir / "check.log") << "start:\n" << s.process->log());
  CHECK(s.check_exit == 0);
  REQUIRE_FALSE(s.exit);
  struct stat st {};
  REQUIRE(::stat(at.unix_path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK(pm_get(at, "/ping").body == "pong");
  CHECK(pm_get(at, "/setSession.php").body.find("Session ID: ") != std::string::npos);
}

TEST_CASE("listen: cppfpm -t and the start agree on every form", "[pm][listen]") {
  const int port = free_loopback_port();
  struct Case {
    std::string listen;
    bool good;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:" + std::to_string(port), true},
      {"sub.sock", true},
      {"127.0.0.1:99999", false},
      {":9000", false},
      {"[::1:9000", false},
      {"0", false},
      {"/tmp/" + std::string(200, 'x') + ".sock", false},
  };
  for (const Case& c : cases) {
    TempDir dir("cppfpm-listen-agree-");
    Endpoint at{"127.0.0.1", port, {}};
    if (c.listen == "sub.sock") at = Endpoint{"", 0, dir / "sub.sock"};
    Started s = check_then_start(dir, c.listen, at);
    INFO("listen = " << c.listen << "\ncheck:\n"
                     << read_file(dir / "check.log") << "start:\n"
                     << s.process->log());
    if (c.good) {
      CHECK(s.check_exit == 0);
      CHECK_FALSE(s.exit);
      CHECK(pm_get(at, "/ping").body == "pong");
    } else {
      CHECK(s.check_exit == 78);
      CHECK(s.exit == 78);
    }
    s.process->stop();
  }
}
