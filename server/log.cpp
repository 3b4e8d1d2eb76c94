#include "server/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

namespace cppfpm::server {
namespace {

// spdlog's levels under php-fpm's names.
class PhpFpmLevel final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view name;
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: name = "DEBUG"; break;
      case spdlog::level::info: name = "NOTICE"; break;
      case spdlog::level::warn: name = "WARNING"; break;
      case spdlog::level::err: name = "ERROR"; break;
      default: name = "ALERT"; break;
    }
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PhpFpmLevel>(); }
};

std::mutex g_mutex;
std::string g_path;
std::string g_level = "notice";

spdlog::level::level_enum to_spdlog(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "alert") return spdlog::level::critical;
  return spdlog::level::info;
}

void install() {
  std::shared_ptr<spdlog::logger> logger;
  if (g_path.empty()) {
    logger = std::make_shared<spdlog::logger>("cppfpm", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    try {
      logger = std::make_shared<spdlog::logger>(
          "cppfpm", std::make_shared<spdlog::sinks::basic_file_sink_mt>(g_path, false));
    } catch (const spdlog::spdlog_ex& e) {
      logger = std::make_shared<spdlog::logger>("cppfpm", std::make_shared<spdlog::sinks::stderr_sink_mt>());
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

void init_logging(const std::string& error_log, const std::string& level) {
  std::lock_guard lock(g_mutex);
  g_path = error_log;
  g_level = level;
  install();
}

void reopen_logs() {
  std::lock_guard lock(g_mutex);
  install();
}

}  // namespace cppfpm::server
