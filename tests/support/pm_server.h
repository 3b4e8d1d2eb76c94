#pragma once
// build/cppfpm as the process-manager tests run it: a pool from inline keys
// that needs neither memcached nor MariaDB (memory sessions), the test
// pages on (CPPFPM_TEST_PAGES=1: /__test/sleep?ms=N), and readiness read
// from the log instead of a probe connection, so `accepted conn` counts
// exactly the connections a test makes and an ondemand pool stays empty.
// FastCGI from any loopback source address to any loopback address or unix
// socket; the status page parsed; the master's children counted in /proc.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/cppfpm.h"
#include "support/fcgi_client.h"
#include "support/net.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace cppfpm::test {

// Where a pool listens and where a client connects.
struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 0;
  std::filesystem::path unix_path;  // a unix socket when not empty

  // The pool's `listen` value.
  std::string listen() const;
  std::string str() const { return listen(); }
};

// A TCP endpoint on 127.0.0.1 and a free port.
Endpoint loopback_endpoint();

// Pool keys for `at`: static, 2 children of 2 threads, memory sessions,
// pm.status_path = /status, ping.path = /ping.
ConfigKeys pm_pool(const Endpoint& at);
// pm_pool with one child of `threads` worker threads: easy to saturate.
ConfigKeys one_child_pool(const Endpoint& at, int threads);

// Connects to `at`, from the local address `source` when not empty (TCP);
// throws std::runtime_error on failure.
Fd pm_connect(const Endpoint& at, const std::string& source = {}, Millis timeout = 2s);

// FcgiClient's requests on any endpoint.
class PmClient {
 public:
  explicit PmClient(const Endpoint& at, const std::string& source = {});

  FcgiResponse request(const Params& params, bool keep_conn = false, std::uint16_t id = 1,
                       Millis timeout = 10s);
  bool send_request(const Params& params, bool keep_conn, std::uint16_t id);
  FcgiResponse read_response(std::uint16_t id, Millis timeout);
  // True when the server closes the connection within `timeout`.
  bool closed_by_server(Millis timeout) { return peer_closes_within(fd_.get(), timeout); }
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
  std::string buffer_;
};

// One GET of `script`?`query` on a fresh connection, as nginx sends it.
FcgiResponse pm_get(const Endpoint& at, const std::string& script, const std::string& query = {},
                    Millis timeout = 10s);

// The text status page as `field -> value` ("accepted conn" -> "3"); with
// ?full, the fields of the first process block end the map (later ones are
// in pm_status_processes).
std::map<std::string, std::string> parse_status_text(const std::string& body);
// The per-process blocks of a text `?full` page.
std::vector<std::map<std::string, std::string>> pm_status_processes(const std::string& body);

// Children of `parent` that exited and were not reaped (zombies).
std::vector<pid_t> zombie_children(pid_t parent);

// Polls `done` every `every` until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& done, Millis timeout, Millis every = 20ms);

// build/cppfpm -F -y on a config written from `pool` (which holds `listen`)
// and `global`, in its own temp dir.
class PmServer {
 public:
  // Throws with the log when the master does not report ready in 10 s.
  PmServer(ConfigKeys pool, ConfigKeys global = {});
  ~PmServer();

  TempDir dir;
  ConfigKeys pool;
  ConfigKeys global;
  Endpoint endpoint;

  Process& process() { return *process_; }
  pid_t pid() const { return process_->pid(); }
  // The master's live children (pool processes), sorted.
  std::vector<pid_t> children() const;
  // stderr, and the [global] error_log file when the config names one.
  std::string log() const;
  std::size_t log_count(const std::string& needle) const;
  const std::filesystem::path& config_path() const { return config_; }
  // Rewrites the config file from `pool` and `global` (for a reload).
  void write_config();
  // Waits for the `n`th "ready to handle connections" in the log.
  bool wait_ready(std::size_t n, Millis timeout);
  // Waits until the master has exactly `n` children.
  // Waits until the master has `n` children, none of them one of `before`
  // (the children were replaced: a reopen, a reload).
  bool wait_replaced(const std::vector<pid_t>& before, std::size_t n, Millis timeout);
  bool wait_children(std::size_t n, Millis timeout);

  FcgiResponse get(const std::string& script, const std::string& query = {},
                   Millis timeout = 10s) const {
    return pm_get(endpoint, script, query, timeout);
  }
  // /status?query on a fresh connection, as text fields.
  std::map<std::string, std::string> status(Millis timeout = 5s) const;

 private:
  std::filesystem::path config_;
  std::filesystem::path error_log_;
  std::unique_ptr<Process> process_;
};

// GET /__test/sleep?ms=N on a fresh connection, in the background.
std::future<FcgiResponse> slow_request(const Endpoint& at, int ms, Millis timeout = 15s);

// Waits until the status page (?full) shows /__test/sleep in flight in at
// least `children` children. Its rows are per child, each showing the
// child's oldest request in flight (else its last one, finished, which does
// not count here), so this counts children, not requests:
// two sleeps in one child count once. The page is served by the pool itself,
// also while every worker thread is busy. Asked on `at` (fresh connections,
// each counted in accepted conn unless `at` is pm.status_listen), on the
// pool's endpoint, or on a kept connection (`id`: its last request id, then
// the one used last).
bool wait_serving(const Endpoint& at, int children = 1, Millis timeout = 5s);
bool wait_serving(PmServer& fpm, int children = 1, Millis timeout = 5s);
bool wait_serving(PmClient& kept, std::uint16_t& id, int children = 1, Millis timeout = 5s);

// `threads` clients each doing GETs of `script` on fresh connections in a
// loop until stop(); every answer that is not a complete 200 is a failure.
class PmLoad {
 public:
  PmLoad(const Endpoint& at, int threads, std::string script, std::string query = {});
  ~PmLoad();
  void stop();
  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  // The first few failures, described.
  std::string failures() const;

 private:
  void run(const Endpoint& at);

  std::string script_, query_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

}  // namespace cppfpm::test
