#include "support/pm_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace cppfpm::test {

std::string Endpoint::listen() const {
  if (!unix_path.empty()) return unix_path.string();
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Endpoint loopback_endpoint() {
  return Endpoint{"127.0.0.1", free_loopback_port(), {}};
}

ConfigKeys pm_pool(const Endpoint& at) {
  return {
      {"listen", at.listen()},
      {"pm", "static"},
      {"pm.max_children", "2"},
      {"pm.threads_per_child", "2"},
      {"pm.status_path", "/status"},
      {"ping.path", "/ping"},
      {"session.save_handler", "memory"},
  };
}

ConfigKeys one_child_pool(const Endpoint& at, int threads) {
  ConfigKeys pool = pm_pool(at);
  set_key(pool, "pm.max_children", "1");
  set_key(pool, "pm.threads_per_child", std::to_string(threads));
  return pool;
}

namespace {

sockaddr_in inet_address(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw std::invalid_argument("not an IPv4 address: " + host);
  return addr;
}

void wait_connected(int fd, const std::string& what, Millis timeout) {
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
    throw std::runtime_error("connect() to " + what + " timed out");
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) throw std::runtime_error("connect() to " + what + " failed: " + std::strerror(err));
}

}  // namespace

Fd pm_connect(const Endpoint& at, const std::string& source, Millis timeout) {
  const std::string what = at.str();
  if (!at.unix_path.empty()) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = at.unix_path.string();
    if (path.size() >= sizeof addr.sun_path)
      throw std::invalid_argument("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (errno != EINPROGRESS && errno != EAGAIN)
        throw std::runtime_error("connect() to " + what + " failed: " + std::strerror(errno));
      wait_connected(fd.get(), what, timeout);
    }
    return fd;
  }
  if (at.host.find(':') != std::string::npos) {  // IPv6, e.g. ::1
    Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(static_cast<std::uint16_t>(at.port));
    if (!fd || ::inet_pton(AF_INET6, at.host.c_str(), &addr.sin6_addr) != 1)
      throw std::runtime_error("cannot make an IPv6 socket for " + what);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (errno != EINPROGRESS)
        throw std::runtime_error("connect() to " + what + " failed: " + std::strerror(errno));
      wait_connected(fd.get(), what, timeout);
    }
    return fd;
  }
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw std::runtime_error(std::string("socket() failed: ") + std::strerror(errno));
  if (!source.empty()) {
    auto local = inet_address(source, 0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error("bind(" + source + ") failed: " + std::strerror(errno));
  }
  auto addr = inet_address(at.host, at.port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS)
      throw std::runtime_error("connect() to " + what + " failed: " + std::strerror(errno));
    wait_connected(fd.get(), what, timeout);
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

PmClient::PmClient(const Endpoint& at, const std::string& source) : fd_(pm_connect(at, source)) {}

bool PmClient::send_request(const Params& params, bool keep_conn, std::uint16_t id) {
  std::string pairs;
  for (const auto& [name, value] : params) pairs += fcgi::name_value(name, value);
  std::string bytes = fcgi::record(
      fcgi::begin_request, id,
      fcgi::begin_request_body(fcgi::role_responder, keep_conn ? fcgi::flag_keep_conn : 0));
  bytes += fcgi::stream(fcgi::params, id, pairs);
  bytes += fcgi::stream(fcgi::stdin_stream, id, {});
  return send_all(fd_.get(), bytes);
}

FcgiResponse PmClient::read_response(std::uint16_t id, Millis timeout) {
  FcgiResponse response;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(buffer_[i]); };
  while (!response.ended) {
    if (buffer_.size() >= 8) {
      std::size_t length = (byte(4) << 8) | byte(5);
      std::size_t total = 8 + length + byte(6);
      if (buffer_.size() >= total) {
        std::uint8_t type = byte(1);
        auto request_id = static_cast<std::uint16_t>((byte(2) << 8) | byte(3));
        std::string content = buffer_.substr(8, length);
        buffer_.erase(0, total);
        if (request_id != id) continue;
        if (type == fcgi::stdout_stream) response.stdout_data += content;
        if (type == fcgi::stderr_stream) response.stderr_data += content;
        if (type == fcgi::end_request && content.size() >= 8) {
          response.protocol_status = static_cast<unsigned char>(content[4]);
          response.ended = true;
        }
        continue;
      }
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || read_some(fd_.get(), buffer_, left) != ReadStatus::data) break;
  }
  parse_cgi(response);
  return response;
}

FcgiResponse PmClient::request(const Params& params, bool keep_conn, std::uint16_t id,
                               Millis timeout) {
  if (!send_request(params, keep_conn, id)) return FcgiResponse{};
  return read_response(id, timeout);
}

FcgiResponse pm_get(const Endpoint& at, const std::string& script, const std::string& query,
                    Millis timeout) {
  PmClient client(at);
  return client.request(nginx_params(script, {}, query), false, 1, timeout);
}

std::vector<pid_t> zombie_children(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string line;
    try {
      line = read_file(entry.path() / "stat");
    } catch (const std::exception&) {
      continue;  // gone meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces, so parse after ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state == 'Z') out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

bool wait_until(const std::function<bool()>& done, Millis timeout, Millis every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

PmServer::PmServer(ConfigKeys pool_keys, ConfigKeys global_keys)
    : dir("cppfpm-pm-"), pool(std::move(pool_keys)), global(std::move(global_keys)) {
  for (const auto& [key, value] : pool) {
    if (key != "listen") continue;
    auto colon = value.rfind(':');
    if (value.find('/') != std::string::npos) {
      endpoint.unix_path = value;
    } else if (colon == std::string::npos) {
      endpoint.port = std::stoi(value);
    } else {
      endpoint.host = value.substr(0, colon);
      endpoint.port = std::stoi(value.substr(colon + 1));
    }
  }
  for (const auto& [key, value] : global)
    if (key == "error_log") error_log_ = value;
  config_ = dir / "cppfpm.conf";
  write_config();
  ProcessOptions options;
  options.env.emplace_back("CPPFPM_TEST_PAGES", "1");
  process_ = std::make_unique<Process>(
      std::vector<std::string>{CPPFPM_BINARY, "-R", "-F", "-y", config_.string()},
      dir / "cppfpm.log", options);
  if (!wait_ready(1, 10s)) {
    auto status = process_->exit_status();
    throw std::runtime_error("cppfpm did not get ready" +
                             (status ? " (" + describe_status(*status) + ")" : "") + "; config:\n" +
                             read_file(config_) + "log:\n" + process_->log());
  }
}

PmServer::~PmServer() = default;

std::string PmServer::log() const {
  std::string text = process_->log();
  if (!error_log_.empty()) {
    try {
      text += read_file(error_log_);
    } catch (const std::exception&) {
    }
  }
  return text;
}

void PmServer::write_config() {
  write_file(config_, fpm_config(pool, global));
}

std::vector<pid_t> PmServer::children() const {
  auto pids = process_->children();
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::size_t PmServer::log_count(const std::string& needle) const {
  std::string text = log();
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size()))
    ++n;
  return n;
}

bool PmServer::wait_ready(std::size_t n, Millis timeout) {
  return wait_until(
             [&] { return !process_->running() || log_count("ready to handle connections") >= n; },
             timeout) &&
         process_->running();
}

bool PmServer::wait_replaced(const std::vector<pid_t>& before, std::size_t n, Millis timeout) {
  return wait_until(
      [&] {
        auto now = children();
        return now.size() == n && std::none_of(now.begin(), now.end(), [&](pid_t p) {
                 return std::count(before.begin(), before.end(), p) > 0;
               });
      },
      timeout);
}

bool PmServer::wait_children(std::size_t n, Millis timeout) {
  return wait_until([&] { return children().size() == n; }, timeout);
}

std::map<std::string, std::string> PmServer::status(Millis timeout) const {
  return parse_status_text(get("/status", {}, timeout).body);
}

std::future<FcgiResponse> slow_request(const Endpoint& at, int ms, Millis timeout) {
  return std::async(std::launch::async, [at, ms, timeout] {
    try {
      return pm_get(at, "/__test/sleep", "ms=" + std::to_string(ms), timeout);
    } catch (const std::exception&) {
      return FcgiResponse{};
    }
  });
}

PmLoad::PmLoad(const Endpoint& at, int threads, std::string script, std::string query)
    : script_(std::move(script)), query_(std::move(query)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, at] { run(at); });
}

PmLoad::~PmLoad() {
  stop();
}

void PmLoad::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void PmLoad::run(const Endpoint& at) {
  while (!stop_) {
    std::string failure;
    try {
      auto r = pm_get(at, script_, query_, 10s);
      if (!r.ended || r.status != 200)
        failure = "answer ended=" + std::to_string(r.ended) +
                  " status=" + std::to_string(r.status) + " stdout=" + r.stdout_data.substr(0, 80);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure.empty()) {
      ++ok_;
      continue;
    }
    ++failed_;
    std::lock_guard lock(mutex_);
    if (failures_.size() < 5) failures_.push_back(failure);
  }
}

std::string PmLoad::failures() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : failures_) out += f + "\n";
  return out;
}

}  // namespace cppfpm::test
