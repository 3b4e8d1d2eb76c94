// The per-pool process settings and the daemon's own: rlimit_files,
// env[...] / clear_env, user/group, daemonize + pid, and systemd's notify
// protocol, on real cppfpm processes.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "support/pm_server.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

std::string proc_file(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string status_field(pid_t pid, const std::string& field) {
  std::istringstream in(proc_file(pid, "status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return line.substr(field.size() + 1);
  return {};
}

}  // namespace

TEST_CASE("rlimit_files, env[] and clear_env reach every child", "[pm][process]") {
  ConfigKeys pool = pm_pool(loopback_endpoint());
  set_key(pool, "pm", "static");
  set_key(pool, "pm.max_children", "2");
  set_key(pool, "rlimit_files", "1234");
  set_key(pool, "env[CPPFPM_TEST_VALUE]", "from-the-pool-file");
  set_key(pool, "clear_env", "yes");
  PmServer server(pool);
  REQUIRE(server.wait_children(2, 5s));
  for (pid_t child : server.children()) {
    INFO("child " << child);
    CHECK(proc_file(child, "limits").find("Max open files            1234                 1234") !=
          std::string::npos);
  }
  // What a page sees: env[] set, the master's environment cleared.
  for (int i = 0; i < 4; ++i) {
    auto value = server.get("/__test/env", "CPPFPM_TEST_VALUE");
    REQUIRE(value.ended);
    CHECK(value.body == "from-the-pool-file");
    auto path = server.get("/__test/env", "PATH");
    CHECK(path.body == "(unset)");
  }
}

TEST_CASE("user and group: children drop to them when started as root", "[pm][process]") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: needs root");
    return;
  }
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody);
  ConfigKeys pool = pm_pool(loopback_endpoint());
  set_key(pool, "user", "nobody");
  set_key(pool, "group", "nogroup");
  set_key(pool, "pm", "static");
  set_key(pool, "pm.max_children", "1");
  PmServer server(pool);
  REQUIRE(server.wait_children(1, 5s));
  pid_t child = server.children().front();
  std::string uid = status_field(child, "Uid");
  CHECK(uid.find(std::to_string(nobody->pw_uid)) != std::string::npos);
  CHECK(status_field(server.pid(), "Uid").find("\t0\t") !=
        std::string::npos);  // the master stays root
  CHECK(server.get("/setSession.php").ended);
}

TEST_CASE("an unknown user is a config error naming the setting", "[pm][process]") {
  TempDir dir("cppfpm-user");
  auto conf = dir.path() / "bad-user.conf";
  std::ofstream(conf) << "[www]\nlisten = 127.0.0.1:" << free_loopback_port()
                      << "\nuser = no-such-user-here\n";
  auto out = run_cppfpm({"-t", "-y", conf.string()}, dir.path(), 10s);
  CHECK(out.exit_code != 0);
  CHECK(out.output.find("no-such-user-here") != std::string::npos);
  CHECK(out.output.find("(user)") != std::string::npos);
}

TEST_CASE("daemonize: -D returns at once, the daemon writes its pid file and serves",
          "[pm][process]") {
  TempDir dir("cppfpm-daemon");
  int port = free_loopback_port();
  auto pid_file = dir.path() / "cppfpm.pid";
  auto conf = dir.path() / "daemon.conf";
  std::ofstream(conf) << "[global]\npid = " << pid_file.string()
                      << "\nerror_log = " << (dir.path() / "error.log").string()
                      << "\n[www]\nlisten = 127.0.0.1:" << port
                      << "\npm = static\npm.max_children = 1\nsession.save_handler = memory\n";
  auto out = run_cppfpm({"-D", "-y", conf.string()}, dir.path(), 10s);
  REQUIRE(out.exit_code == 0);
  REQUIRE(wait_until([&] { return std::filesystem::exists(pid_file); }, 5s));
  pid_t daemon = 0;
  std::ifstream(pid_file) >> daemon;
  REQUIRE(daemon > 0);
  CHECK(::kill(daemon, 0) == 0);
  Endpoint at;
  at.port = port;
  CHECK(pm_get(at, "/setSession.php").ended);
  ::kill(daemon, SIGTERM);
  CHECK(wait_until([&] { return ::kill(daemon, 0) != 0; }, 5s));
  CHECK(wait_until([&] { return !std::filesystem::exists(pid_file); }, 5s));
}

TEST_CASE("systemd: READY=1 and php-fpm's status line reach NOTIFY_SOCKET", "[pm][process]") {
  TempDir dir("cppfpm-notify");
  auto socket_path = dir.path() / "notify.sock";
  int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(sock >= 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, socket_path.c_str(), sizeof(sa.sun_path) - 1);
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  timeval tv{5, 0};
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  int port = free_loopback_port();
  auto conf = dir.path() / "notify.conf";
  std::ofstream(conf) << "[global]\nsystemd_interval = 1s\n[www]\nlisten = 127.0.0.1:" << port
                      << "\npm = static\npm.max_children = 1\nsession.save_handler = memory\n";
  ProcessOptions options;
  options.env = {{"NOTIFY_SOCKET", socket_path.string()}};
  Process fpm({CPPFPM_BINARY, "-R", "-F", "-y", conf.string()}, dir.path() / "fpm.log", options);
  std::string all;
  char buf[512];
  for (int i = 0; i < 4 && all.find("Traffic:") == std::string::npos; ++i) {
    ssize_t n = ::recv(sock, buf, sizeof(buf), 0);
    if (n > 0) all.append(buf, static_cast<std::size_t>(n)).append("\n");
  }
  ::close(sock);
  INFO(all);
  CHECK(all.find("READY=1") != std::string::npos);
  CHECK(all.find("STATUS=Processes active: 0, idle: 1, Requests: 0, slow: 0, Traffic: 0req/sec") !=
        std::string::npos);
  fpm.stop();
}
