#include "support/mariadb.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

namespace cppfpm::test {

namespace {

constexpr const char* create_users_sql =
    "CREATE USER 'phpUser'@'127.0.0.1' IDENTIFIED BY 'phpPass';"
    "CREATE USER 'phpUser'@'localhost' IDENTIFIED BY 'phpPass';"
    "GRANT ALL ON *.* TO 'phpUser'@'127.0.0.1';"
    "GRANT ALL ON *.* TO 'phpUser'@'localhost';";

std::vector<std::string> as_root_user() {
  if (::geteuid() == 0) return {"--user=root"};
  return {};
}

void install_datadir(const std::filesystem::path& dir) {
  std::vector<std::string> argv{
      "mariadb-install-db", "--no-defaults",       "--auth-root-authentication-method=normal",
      "--skip-test-db",     "--skip-name-resolve", "--datadir=" + (dir / "data").string()};
  for (auto& arg : as_root_user()) argv.push_back(arg);
  auto log = dir / "install.log";
  if (run_command(argv, log, 60s) != 0)
    throw std::runtime_error("mariadb-install-db failed: " + read_file(log));
}

}  // namespace

namespace {

// A unix socket path must fit sockaddr_un's 108 bytes; deep build trees
// get theirs in /tmp instead.
std::filesystem::path socket_path(const std::filesystem::path& dir, int port) {
  auto path = dir / "mariadb.sock";
  if (path.string().size() < 100) return path;
  return std::filesystem::temp_directory_path() /
         ("cppfpm-mariadb-" + std::to_string(port) + ".sock");
}

}  // namespace

MariaDb::MariaDb(const std::filesystem::path& dir, int port, bool outlive_starter)
    : dir_(dir), port_(port ? port : free_loopback_port()), socket_(socket_path(dir_, port_)) {
  std::filesystem::create_directories(dir_ / "tmp");
  install_datadir(dir_);
  std::vector<std::string> argv{"mariadbd",
                                "--no-defaults",
                                "--datadir=" + (dir_ / "data").string(),
                                "--socket=" + socket_.string(),
                                "--pid-file=" + (dir_ / "mariadb.pid").string(),
                                "--tmpdir=" + (dir_ / "tmp").string(),
                                "--port=" + std::to_string(port_),
                                "--bind-address=127.0.0.1",
                                "--skip-name-resolve",
                                "--innodb-buffer-pool-size=32M",
                                "--max-connections=500"};
  for (auto& arg : as_root_user()) argv.push_back(arg);
  ProcessOptions options;
  options.die_with_parent = !outlive_starter;
  process_ = std::make_unique<Process>(argv, dir_ / "mariadb.log", options);
  if (!process_->wait_for_port(port_, 30s)) {
    std::string log = process_->log();
    process_.reset();
    throw std::runtime_error("mariadbd did not listen on port " + std::to_string(port_) + ": " +
                             log);
  }
  execute_sql(create_users_sql);
  load_demo_sql();
}

void MariaDb::load_demo_sql() const {
  // The same deploy/sql/*.sql that deploy/lemmp loads, in name order.
  auto dir = std::filesystem::path(CPPFPM_SOURCE_DIR) / "deploy" / "sql";
  if (!std::filesystem::is_directory(dir)) return;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) execute_sql("source " + file.string());
}

MariaDb::~MariaDb() {
  stop();
}

MariaDbEndpoint MariaDb::endpoint() const {
  return MariaDbEndpoint{port_, socket_, process_ ? process_->pid() : -1};
}

void MariaDb::execute_sql(std::string_view sql) const {
  mariadb_execute(endpoint(), sql, dir_ / "client.log");
}

void MariaDb::stop() {
  if (process_) process_->stop(SIGTERM, 15s);
  process_.reset();
}

MariaDbEndpoint MariaDb::release() {
  auto out = endpoint();
  if (process_) process_->release();
  process_.reset();
  return out;
}

std::string MariaDb::log() const {
  return process_ ? process_->log() : std::string();
}

void mariadb_execute(const MariaDbEndpoint& server, std::string_view sql,
                     const std::filesystem::path& log) {
  std::vector<std::string> argv{"mariadb",     "--no-defaults",
                                "--user=root", "--socket=" + server.socket.string(),
                                "--batch",     "--execute=" + std::string(sql)};
  if (run_command(argv, log, 30s) != 0)
    throw std::runtime_error("mariadb client failed on `" + std::string(sql) +
                             "`: " + read_file(log));
}

void stop_mariadb(const MariaDbEndpoint& server) {
  if (!pid_alive(server.pid)) return;
  ::kill(server.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (pid_alive(server.pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  if (pid_alive(server.pid)) ::kill(server.pid, SIGKILL);
}

void save_endpoint(const std::filesystem::path& file, const MariaDbEndpoint& server) {
  write_file(file, std::to_string(server.port) + "\n" + server.socket.string() + "\n" +
                       std::to_string(server.pid) + "\n");
}

std::optional<MariaDbEndpoint> load_endpoint(const std::filesystem::path& file) {
  std::ifstream in(file);
  MariaDbEndpoint server;
  std::string socket;
  if (!(in >> server.port >> socket >> server.pid)) return std::nullopt;
  server.socket = socket;
  return server;
}

namespace {

struct OwnMariaDb {
  TempDir dir{"cppfpm-mariadb-"};
  MariaDb server{dir.path()};
};

}  // namespace

const MariaDbEndpoint& shared_mariadb() {
  static const MariaDbEndpoint server = [] {
    if (const char* file = std::getenv("CPPFPM_TEST_MARIADB")) {
      auto fixture = load_endpoint(file);
      if (fixture && pid_alive(fixture->pid) && port_accepts(fixture->port)) return *fixture;
    }
    static OwnMariaDb own;
    return own.server.endpoint();
  }();
  return server;
}

std::string mariadb_dsn(int port, std::string_view user, std::string_view password) {
  return "mysql://host=127.0.0.1 port=" + std::to_string(port) + " user=" + std::string(user) +
         " password=" + std::string(password);
}

}  // namespace cppfpm::test
