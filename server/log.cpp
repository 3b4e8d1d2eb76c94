#include "server/log.h"

#include <fcntl.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "pool/worker_output.h"
#include "server/fastcgi/fd.h"

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

std::atomic<int> g_log_limit{1024};

// The formatted line's length once php-fpm's cut applies (cut_log_line),
// its line end set aside; `cut` false leaves it whole (worker output, which
// WorkerOutput wraps itself). The text is changed in place.
std::size_t apply_cut(spdlog::memory_buf_t& line, bool cut) {
  std::size_t size = line.size();
  if (size > 0 && line.data()[size - 1] == '\n') --size;
  if (!cut) return size;
  std::size_t kept = cut_length(size, g_log_limit.load(std::memory_order_relaxed));
  if (kept < size) std::memcpy(line.data() + kept - 3, "...", 3);
  return kept;
}

// Writes each line to a file descriptor with one write(2): the error log
// file (O_APPEND, so the lines of the master and of every child never mix),
// fd 2, or a private copy of it once a child's fd 2 is a catch_workers_output
// pipe.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  FdSink(int fd, bool cut) : fd_(fd), cut_(cut) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::size_t size = apply_cut(line, cut_);
    line.resize(size);
    line.push_back('\n');
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
  bool cut_;
};

// syslog(3) with php-fpm's priorities (zlog.c's syslog_priorities) and
// its message shape: "[LEVEL] text", without a timestamp (syslog adds one).
class SyslogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit SyslogSink(bool cut) : cut_(cut) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::size_t size = apply_cut(line, cut_);  // a datagram has no line end
    ::syslog(priority(msg.level), "%.*s", static_cast<int>(size), line.data());
  }
  void flush_() override {}

 private:
  static int priority(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        return LOG_DEBUG;
      case spdlog::level::info:
        return LOG_NOTICE;
      case spdlog::level::warn:
        return LOG_WARNING;
      case spdlog::level::err:
        return LOG_ERR;
      default:
        return LOG_ALERT;
    }
  }
  bool cut_;
};

std::mutex g_mutex;
int g_stderr_fd = STDERR_FILENO;
std::string g_path;
Fd g_file;  // the error log, opened by the master; children inherit it
std::string g_level = "notice";
bool g_also_stderr = false;
bool g_syslog = false;
bool g_stderr_follows_file = false;  // the daemon: fd 2 is the error log file
SyslogSettings g_syslog_settings;
// The pools' access logs and slowlogs, opened by the master (root) so that
// children running as an unprivileged user can write to them: they inherit
// these descriptors at fork and never open the paths themselves.
std::map<std::string, Fd> g_pool_files;
std::set<std::string> g_access_paths;

spdlog::level::level_enum to_spdlog(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "alert") return spdlog::level::critical;
  return spdlog::level::info;
}

// php-fpm creates its error log readable by its owner only (0600,
// fpm_stdio_open_error_log), and its access log (fpm_log_open) and slowlog
// (fpm_conf_post_process) likewise. An existing file keeps its mode.
constexpr mode_t kPoolLogMode = S_IRUSR | S_IWUSR;

Fd open_append(const std::string& path, mode_t mode) {
  return Fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode));
}

// Points `held` at a newly opened `path`. dup2() swaps the file under the
// same fd number at once, so a thread writing meanwhile never meets a closed
// or reused descriptor.
bool reopen_into(Fd& held, const std::string& path, mode_t mode) {
  Fd fresh = open_append(path, mode);
  if (!fresh) return false;
  if (!held) {
    held = std::move(fresh);
    return true;
  }
  return ::dup2(fresh.get(), held.get()) >= 0;
}

std::unique_ptr<spdlog::formatter> formatter_for(const char* pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PhpFpmLevel>('*').set_pattern(pattern);
  return formatter;
}

// The sinks of one logger: syslog, or the error log file (or stderr), and
// stderr as well with -O. `file_pattern` for descriptors, `syslog_pattern`
// for syslog(3). Each logger gets sinks of its own: a sink holds its
// formatter.
std::vector<spdlog::sink_ptr> make_sinks(const char* file_pattern, const char* syslog_pattern,
                                         bool cut) {
  std::vector<spdlog::sink_ptr> sinks;
  if (g_syslog) {
    sinks.push_back(std::make_shared<SyslogSink>(cut));
    sinks.back()->set_formatter(formatter_for(syslog_pattern));
  } else {
    sinks.push_back(std::make_shared<FdSink>(g_file ? g_file.get() : g_stderr_fd, cut));
    sinks.back()->set_formatter(formatter_for(file_pattern));
  }
  if (g_also_stderr && (g_syslog || g_file)) {
    sinks.push_back(std::make_shared<FdSink>(g_stderr_fd, cut));
    sinks.back()->set_formatter(formatter_for(file_pattern));
  }
  return sinks;
}

// `cut`: lines longer than php-fpm writes its own are cut as it cuts them
// (cut_length); worker output is wrapped by WorkerOutput instead.
std::shared_ptr<spdlog::logger> make_logger(const char* name, const char* file_pattern,
                                            const char* syslog_pattern, bool cut) {
  auto sinks = make_sinks(file_pattern, syslog_pattern, cut);
  auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  logger->set_level(to_spdlog(g_level));
  logger->flush_on(spdlog::level::trace);
  return logger;
}

constexpr const char* kFilePattern = "[%d-%b-%Y %H:%M:%S] %*: %v";
constexpr const char* kSyslogPattern = "[%*] %v";

void install() {
  // "[WARNING] " before a worker line sent to syslog, else the time stamp too.
  pool::set_worker_line_prefix_size(g_syslog ? 10 : 32);
  spdlog::set_default_logger(make_logger("cppfpm", kFilePattern, kSyslogPattern, true));
  // catch_workers_output: the same lines, wrapped rather than cut.
  spdlog::drop(pool::kWorkerLogger);
  spdlog::register_logger(make_logger(pool::kWorkerLogger, kFilePattern, kSyslogPattern, false));
  // decorate_workers_output = no: the same destinations, the message alone.
  spdlog::drop(pool::kUndecoratedLogger);
  spdlog::register_logger(make_logger(pool::kUndecoratedLogger, "%v", "%v", false));
}

}  // namespace

// php-fpm 8.2 formats a line of its own, prefix included, into a 2048-byte
// buffer (zlog.c, vzlog); only a line that does not fit is cut, to
// min(log_limit, 2048) - 1 bytes, the last three of them "...". A shorter
// line is written whole, even past log_limit.
std::size_t cut_length(std::size_t length, int log_limit) {
  constexpr std::size_t kBuffer = 2048;
  if (length < kBuffer) return length;
  return std::min(static_cast<std::size_t>(std::max(log_limit, 4)), kBuffer) - 1;
}

std::string cut_log_line(std::string line, int log_limit) {
  std::size_t kept = cut_length(line.size(), log_limit);
  if (kept < line.size()) {
    line.resize(kept);
    line.replace(kept - 3, 3, "...");
  }
  return line;
}

void set_log_limit(int log_limit) {
  g_log_limit.store(log_limit, std::memory_order_relaxed);
}

std::string stamped_line(std::string_view level, std::string_view text, int log_limit) {
  std::string line = log_time_prefix();
  line.append(level).append(": ").append(text);
  return cut_log_line(std::move(line), log_limit) + "\n";
}

std::string log_time_prefix() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "[%d-%b-%Y %H:%M:%S] ", &tm);
  return std::string(buf, n);
}

bool is_syslog(const std::string& error_log) {
  return error_log == "syslog";
}

void init_logging(const std::string& error_log, const std::string& level, bool also_stderr,
                  const SyslogSettings& syslog) {
  std::lock_guard lock(g_mutex);
  g_syslog = is_syslog(error_log);
  g_path = g_syslog ? std::string() : error_log;
  g_level = level;
  g_also_stderr = also_stderr;
  if (g_syslog) {
    g_syslog_settings = syslog;  // openlog() keeps the pointer to the ident
    // LOG_NDELAY: connect now, so a child that runs as another user, or
    // whose fds are closed up to it, inherits the connection.
    ::openlog(g_syslog_settings.ident.c_str(), LOG_PID | LOG_CONS | LOG_NDELAY,
              g_syslog_settings.facility);
  }
  int error = 0;
  if (!g_path.empty() && !reopen_into(g_file, g_path, S_IRUSR | S_IWUSR)) error = errno;
  install();
  if (error != 0)
    spdlog::error("failed to open error_log '{}': {} ({})", g_path, std::strerror(error), error);
}

void keep_log_off_stdio() {
  std::lock_guard lock(g_mutex);
  if (g_also_stderr) {  // the file has every line; the pipe would repeat them
    g_also_stderr = false;
    install();
  }
  if (g_syslog || g_file || g_stderr_fd != STDERR_FILENO) return;
  int fd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return;
  g_stderr_fd = fd;
  install();
}

void open_pool_logs(const pool::Config& config) {
  std::lock_guard lock(g_mutex);
  for (const auto& pool : config.pools)
    for (const std::string* path : {&pool.access_log, &pool.slowlog}) {
      if (path->empty()) continue;
      if (path == &pool.slowlog && pool.request_slowlog_timeout.count() == 0) continue;
      if (path == &pool.access_log) g_access_paths.insert(*path);
      if (g_pool_files.count(*path)) continue;
      Fd& held = g_pool_files[*path];
      if (!reopen_into(held, *path, kPoolLogMode)) {
        int error = errno;
        g_pool_files.erase(*path);
        spdlog::error("[pool {}] failed to open '{}': open() failed: {} ({})", pool.name, *path,
                      std::strerror(error), error);
      }
    }
}

int open_pool_log(const std::string& path) {
  std::lock_guard lock(g_mutex);
  auto it = g_pool_files.find(path);
  if (it != g_pool_files.end()) return ::fcntl(it->second.get(), F_DUPFD_CLOEXEC, 3);
  return open_append(path, kPoolLogMode).release();
}

void point_stderr_at_error_log() {
  std::lock_guard lock(g_mutex);
  if (!g_file) return;
  if (::dup2(g_file.get(), STDERR_FILENO) < 0) {
    int error = errno;
    spdlog::error("failed to init stdio: dup2(): {} ({})", std::strerror(error), error);
    return;
  }
  g_stderr_follows_file = true;
}

// php-fpm's order and words (fpm_got_signal, SIGUSR1): the error log first,
// then the access logs, both noticed in the new error log.
void reopen_logs() {
  std::unique_lock lock(g_mutex);
  bool error_log_ok = g_path.empty() || reopen_into(g_file, g_path, S_IRUSR | S_IWUSR);
  // The daemon's stderr moves to the new file with it (fpm_stdio_open_error_log).
  if (error_log_ok && g_stderr_follows_file && g_file) ::dup2(g_file.get(), STDERR_FILENO);
  bool access_ok = true;
  bool any_access = false;
  for (auto& [path, fd] : g_pool_files) {
    bool ok = reopen_into(fd, path, kPoolLogMode);
    if (g_access_paths.count(path)) {
      any_access = true;
      access_ok = access_ok && ok;
    }
  }
  install();  // the error log may have failed to open until now
  lock.unlock();
  if (error_log_ok)
    spdlog::info("error log file re-opened");
  else
    spdlog::error("unable to re-opened error log file");
  if (any_access && access_ok) spdlog::info("access log file re-opened");
  if (any_access && !access_ok) spdlog::error("unable to re-opened access log file");
}

}  // namespace cppfpm::server
