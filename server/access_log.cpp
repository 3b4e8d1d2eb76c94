#include "server/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>

#include "server/log.h"

namespace cppfpm::server {
namespace {

std::string format_time(std::int64_t us, const std::string& pattern) {
  std::time_t t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[128];
  std::size_t n = std::strftime(buf, sizeof(buf),
                                pattern.empty() ? "%d/%b/%Y:%H:%M:%S %z" : pattern.c_str(), &tm);
  return std::string(buf, n);
}

std::string or_dash(std::string_view v) {
  return v.empty() ? "-" : std::string(v);
}

}  // namespace

std::string format_access_line(const std::string& format, const AccessRecord& r) {
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c != '%' || i + 1 == format.size()) {
      out += c;
      continue;
    }
    std::string arg;
    ++i;
    if (format[i] == '{') {
      auto close = format.find('}', i);
      if (close == std::string::npos) break;
      arg = format.substr(i + 1, close - i - 1);
      i = close + 1;
      if (i >= format.size()) break;
    }
    double seconds = static_cast<double>(r.end_us - r.start_us) / 1e6;
    char buf[64];
    switch (format[i]) {
      case '%':
        out += '%';
        break;
      case 'C':
        std::snprintf(buf, sizeof(buf), "%.2f",
                      r.end_us > r.start_us ? 100.0 * static_cast<double>(r.cpu_us) /
                                                  static_cast<double>(r.end_us - r.start_us)
                                            : 0.0);
        out += buf;
        break;
      case 'd':
        if (arg == "mili" || arg == "milli")
          std::snprintf(buf, sizeof(buf), "%.3f", seconds * 1e3);
        else if (arg == "micro")
          std::snprintf(buf, sizeof(buf), "%.0f", seconds * 1e6);
        else
          std::snprintf(buf, sizeof(buf), "%.3f", seconds);
        out += buf;
        break;
      case 'e':
        out += or_dash(r.request.param(arg));
        break;
      case 'f':
        out += or_dash(r.request.param("SCRIPT_FILENAME").empty()
                           ? r.request.script_name()
                           : r.request.param("SCRIPT_FILENAME"));
        break;
      case 'l':
        out += std::to_string(r.request.body().size());
        break;
      case 'm':
        out += or_dash(r.request.method());
        break;
      case 'M':
        if (arg == "kilo" || arg == "kilobytes")
          std::snprintf(buf, sizeof(buf), "%lu", static_cast<unsigned long>(r.memory / 1024));
        else if (arg == "mega" || arg == "megabytes")
          std::snprintf(buf, sizeof(buf), "%lu",
                        static_cast<unsigned long>(r.memory / (1024 * 1024)));
        else
          std::snprintf(buf, sizeof(buf), "%lu", static_cast<unsigned long>(r.memory));
        out += buf;
        break;
      case 'n':
        out += r.pool;
        break;
      case 'p':
        out += std::to_string(::getpid());
        break;
      case 'P':
        out += std::to_string(::getppid());
        break;
      case 'q':
        out += std::string(r.request.query_string());
        break;
      case 'Q':
        out += r.request.query_string().empty() ? "" : "?";
        break;
      case 'r':
        out += or_dash(r.request.param("REQUEST_URI"));
        break;
      case 'R':
        out += or_dash(r.peer);
        break;
      case 's':
        out += std::to_string(r.response.status);
        break;
      case 't':
        out += format_time(r.start_us, arg);
        break;
      case 'T':
        out += format_time(r.end_us, arg);
        break;
      case 'u':
        out += or_dash(r.request.param("REMOTE_USER"));
        break;
      default:
        out += '%';
        out += format[i];
        break;
    }
  }
  return out;
}

bool suppressed(const std::vector<std::string>& paths, const AccessRecord& r) {
  if (paths.empty()) return false;
  std::string_view method = r.request.method();
  if (method != "GET" && method != "HEAD") return false;
  if (!r.request.body().empty() || !r.request.query_string().empty()) return false;
  if (r.response.status < 200 || r.response.status > 299) return false;
  std::string_view uri = r.request.param("REQUEST_URI");
  return std::find(paths.begin(), paths.end(), uri) != paths.end();
}

AccessLog::AccessLog(std::string path, std::string format, std::vector<std::string> suppress_paths)
    : path_(std::move(path)),
      format_(std::move(format)),
      suppress_paths_(std::move(suppress_paths)) {
  reopen();
}

AccessLog::~AccessLog() {
  if (fd_ >= 0) ::close(fd_);
}

void AccessLog::reopen() {
  if (path_.empty()) return;
  int fd = open_pool_log(path_);
  if (fd < 0) {
    spdlog::error("failed to open access log ({}): open() failed: {} ({})", path_,
                  std::strerror(errno), errno);
    return;
  }
  if (fd_ < 0) {
    fd_ = fd;
    return;
  }
  // dup2() swaps the file under the same fd number atomically, so writers
  // in other threads never see a closed or reused descriptor.
  ::dup2(fd, fd_);
  ::close(fd);
}

void AccessLog::write(const AccessRecord& record) {
  if (fd_ < 0 || suppressed(suppress_paths_, record)) return;
  std::string line = format_access_line(format_, record);
  line += '\n';
  [[maybe_unused]] auto n = ::write(fd_, line.data(), line.size());
}

}  // namespace cppfpm::server
