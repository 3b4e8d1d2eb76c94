#include "support/memcached.h"

#include <libmemcached/memcached.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

namespace cppfpm::test {

Memcached::Memcached(const std::filesystem::path& dir, int port)
    : dir_(dir), port_(port ? port : free_loopback_port()) {
  start();
}

Memcached::~Memcached() {
  kill();
}

void Memcached::start() {
  std::vector<std::string> argv{"memcached", "-l", "127.0.0.1", "-p", std::to_string(port_),
                                "-U",        "0",  "-m",        "64"};
  if (::geteuid() == 0) {
    argv.push_back("-u");
    argv.push_back("root");
  }
  process_ = std::make_unique<Process>(argv, dir_ / "memcached.log");
  if (!process_->wait_for_port(port_, 5s))
    throw std::runtime_error("memcached did not listen on port " + std::to_string(port_) + ": " +
                             process_->log());
}

std::string Memcached::save_path() const {
  return "tcp://127.0.0.1:" + std::to_string(port_);
}

void Memcached::stop() {
  if (process_) process_->stop(SIGTERM);
}

void Memcached::kill() {
  if (process_) process_->stop(SIGKILL);
}

void Memcached::restart() {
  kill();
  start();
}

std::string Memcached::log() const {
  return process_ ? process_->log() : std::string();
}

namespace {

// metadump URL-encodes keys (memcached's uriencode of non-printables).
std::string uri_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string field(const std::string& line, std::string_view name) {
  std::istringstream words(line);
  for (std::string word; words >> word;)
    if (word.size() > name.size() && word.compare(0, name.size(), name) == 0 &&
        word[name.size()] == '=')
      return word.substr(name.size() + 1);
  return {};
}

std::string metadump_once(int port) {
  Fd fd = connect_loopback(port);
  // metadump refuses to share a read with pipelined commands: send it alone.
  if (!send_all(fd.get(), "lru_crawler metadump all\r\n"))
    throw std::runtime_error("metadump: send failed");
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (reply.rfind("END\r\n") != std::string::npos || reply.find("BUSY") == 0 ||
        reply.find("ERROR") == 0 || reply.find("CLIENT_ERROR") == 0)
      return reply;
    auto status = read_some(fd.get(), reply, 500ms);
    if (status == ReadStatus::eof || status == ReadStatus::error) break;
  }
  throw std::runtime_error("metadump: no complete answer from memcached: " + reply);
}

struct Client {
  memcached_st* mc;
  explicit Client(int port) : mc(memcached_create(nullptr)) {
    memcached_server_add(mc, "127.0.0.1", static_cast<in_port_t>(port));
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 2000);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 2000);
  }
  ~Client() { memcached_free(mc); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
};

}  // namespace

std::vector<MemcachedItem> memcached_items(int port) {
  std::string reply;
  for (int attempt = 0; attempt < 50; ++attempt) {
    reply = metadump_once(port);
    if (reply.find("BUSY") != 0) break;  // a crawl is already running: retry
    std::this_thread::sleep_for(50ms);
  }
  if (reply.find("END\r\n") == std::string::npos)
    throw std::runtime_error("metadump failed: " + reply);
  std::vector<MemcachedItem> items;
  std::istringstream lines(reply);
  for (std::string line; std::getline(lines, line);) {
    if (line.compare(0, 4, "key=") != 0) continue;
    MemcachedItem item;
    item.key = uri_decode(field(line, "key"));
    item.exptime = std::stoll(field(line, "exp"));
    item.size = std::stoul(field(line, "size"));
    items.push_back(std::move(item));
  }
  return items;
}

std::optional<std::string> memcached_get(int port, std::string_view key) {
  Client client(port);
  std::size_t length = 0;
  std::uint32_t flags = 0;
  memcached_return_t rc;
  char* value = memcached_get(client.mc, key.data(), key.size(), &length, &flags, &rc);
  if (value == nullptr) {
    if (rc == MEMCACHED_NOTFOUND) return std::nullopt;
    if (rc == MEMCACHED_SUCCESS) return std::string();
    throw std::runtime_error(std::string("memcached_get: ") + memcached_strerror(client.mc, rc));
  }
  std::string out(value, length);
  std::free(value);
  return out;
}

std::optional<std::uint32_t> memcached_flags(int port, std::string_view key) {
  Client client(port);
  std::size_t length = 0;
  std::uint32_t flags = 0;
  memcached_return_t rc;
  char* value = memcached_get(client.mc, key.data(), key.size(), &length, &flags, &rc);
  std::free(value);
  if (rc == MEMCACHED_NOTFOUND) return std::nullopt;
  if (rc != MEMCACHED_SUCCESS)
    throw std::runtime_error(std::string("memcached_get: ") + memcached_strerror(client.mc, rc));
  return flags;
}

bool memcached_set(int port, std::string_view key, std::string_view value, int ttl_seconds) {
  Client client(port);
  return memcached_set(client.mc, key.data(), key.size(), value.data(), value.size(),
                       static_cast<time_t>(ttl_seconds), 0) == MEMCACHED_SUCCESS;
}

}  // namespace cppfpm::test
