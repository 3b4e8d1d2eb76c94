#include "support/cppfpm.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include <stdexcept>

#include "support/mariadb.h"
#include "support/temp_dir.h"

namespace cppfpm::test {

namespace {

void append_section(std::string& out, const std::string& name, const ConfigKeys& keys) {
  out += "[" + name + "]\n";
  for (const auto& [key, value] : keys) out += key + " = " + value + "\n";
  out += "\n";
}

int port_of(const ConfigKeys& pool) {
  for (const auto& [key, value] : pool) {
    if (key != "listen") continue;
    auto colon = value.rfind(':');
    return std::stoi(colon == std::string::npos ? value : value.substr(colon + 1));
  }
  throw std::invalid_argument("Cppfpm: the pool keys have no `listen`");
}

}  // namespace

std::string fpm_config(const ConfigKeys& pool, const ConfigKeys& global) {
  std::string out = "; written by the cppfpm test harness\n";
  append_section(out, "global", global);
  append_section(out, "www", pool);
  return out;
}

ConfigKeys default_pool(int listen_port, int memcached_port, int mariadb_port) {
  return {
      {"listen", "127.0.0.1:" + std::to_string(listen_port)},
      {"pm", "static"},
      {"pm.max_children", "2"},
      {"pm.threads_per_child", "4"},
      {"session.save_path", "\"tcp://127.0.0.1:" + std::to_string(memcached_port) + "\""},
      {"sql.dsn", "\"" + mariadb_dsn(mariadb_port) + "\""},
      {"sql.connect_timeout", "2s"},
  };
}

void set_key(ConfigKeys& keys, const std::string& key, const std::string& value) {
  for (auto& entry : keys)
    if (entry.first == key) {
      entry.second = value;
      return;
    }
  keys.emplace_back(key, value);
}

// CPPFPM_TEST_BINARY runs the suites against another build (before/after
// figures of a change); CPPFPM_BINARY, this tree's, otherwise.
namespace {
std::string cppfpm_binary() {
  const char* other = std::getenv("CPPFPM_TEST_BINARY");
  return other && *other ? other : CPPFPM_BINARY;
}
}  // namespace

Cppfpm::Cppfpm(const std::filesystem::path& dir, ConfigKeys pool, ConfigKeys global)
    : config_(dir / "cppfpm.conf"), port_(port_of(pool)) {
  std::filesystem::create_directories(dir);
  write_file(config_, fpm_config(pool, global));
  ProcessOptions options;
  options.env = {{"CPPFPM_TEST_PAGES", "1"}};  // /__test/sleep?ms=N
  process_ = std::make_unique<Process>(
      std::vector<std::string>{cppfpm_binary(), "-R", "-F", "-y", config_.string()},
      dir / "cppfpm.log", options);
  if (!process_->wait_for_port(port_, 10s)) {
    auto status = process_->exit_status();
    throw std::runtime_error("cppfpm did not listen on port " + std::to_string(port_) +
                             (status ? " (" + describe_status(*status) + ")" : "") + "; config:\n" +
                             read_file(config_) + "log:\n" + process_->log());
  }
  // The port is open once the master has bound it; with pm = static, wait
  // until every child is forked too, so tests that compare the set of
  // children before and after an event start from the full set.
  std::string pm, max_children;
  for (const auto& [key, value] : pool) {
    if (key == "pm") pm = value;
    if (key == "pm.max_children") max_children = value;
  }
  if (pm == "static" && !max_children.empty()) {
    std::size_t want = static_cast<std::size_t>(std::stoul(max_children));
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (process_->children().size() < want && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
  }
}

CommandOutput run_cppfpm(const std::vector<std::string>& args, const std::filesystem::path& dir,
                         Millis timeout) {
  std::vector<std::string> argv{CPPFPM_BINARY, "-R"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto log = dir / "cppfpm-command.log";
  std::filesystem::remove(log);
  CommandOutput out;
  out.exit_code = run_command(argv, log, timeout);
  out.output = read_file(log);
  return out;
}

}  // namespace cppfpm::test
