#include "server/log.h"

#include <fcntl.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <mutex>

namespace cppfpm::server {
namespace {

// spdlog's levels under php-fpm's names.
class PhpFpmLevel final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view name;
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        name = "DEBUG";
        break;
      case spdlog::level::info:
        name = "NOTICE";
        break;
      case spdlog::level::warn:
        name = "WARNING";
        break;
      case spdlog::level::err:
        name = "ERROR";
        break;
      default:
        name = "ALERT";
        break;
    }
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PhpFpmLevel>();
  }
};

// Writes each line to a file descriptor with one write(2): fd 2 normally,
// a private copy of it once a child's fd 2 is a catch_workers_output pipe.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FdSink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n <= 0) return;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  void flush_() override {}

 private:
  int fd_;
};

std::mutex g_mutex;
int g_stderr_fd = STDERR_FILENO;
std::string g_path;
std::string g_level = "notice";
bool g_also_stderr = false;

spdlog::level::level_enum to_spdlog(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "alert") return spdlog::level::critical;
  return spdlog::level::info;
}

// php-fpm creates its error log readable by its owner only (0600,
// fpm_stdio_open_error_log); spdlog's fopen would make it 0644 under the
// usual umask. An existing file keeps its mode.
void create_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd >= 0) ::close(fd);
}

void install() {
  std::shared_ptr<spdlog::logger> logger;
  if (g_path.empty()) {
    logger = std::make_shared<spdlog::logger>("cppfpm", std::make_shared<FdSink>(g_stderr_fd));
  } else {
    create_private(g_path);
    try {
      logger = std::make_shared<spdlog::logger>(
          "cppfpm", std::make_shared<spdlog::sinks::basic_file_sink_mt>(g_path, false));
      if (g_also_stderr) logger->sinks().push_back(std::make_shared<FdSink>(g_stderr_fd));
    } catch (const spdlog::spdlog_ex& e) {
      logger = std::make_shared<spdlog::logger>("cppfpm", std::make_shared<FdSink>(g_stderr_fd));
      logger->error("failed to open error_log '{}': {}", g_path, e.what());
    }
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PhpFpmLevel>('*').set_pattern("[%d-%b-%Y %H:%M:%S] %*: %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(to_spdlog(g_level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace

void init_logging(const std::string& error_log, const std::string& level, bool also_stderr) {
  std::lock_guard lock(g_mutex);
  g_path = error_log;
  g_level = level;
  g_also_stderr = also_stderr;
  install();
}

void keep_log_off_stdio() {
  std::lock_guard lock(g_mutex);
  if (g_also_stderr) {  // the file has every line; the pipe would repeat them
    g_also_stderr = false;
    install();
  }
  if (!g_path.empty() || g_stderr_fd != STDERR_FILENO) return;
  int fd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return;
  g_stderr_fd = fd;
  install();
}

void reopen_logs() {
  std::lock_guard lock(g_mutex);
  install();
}

}  // namespace cppfpm::server
