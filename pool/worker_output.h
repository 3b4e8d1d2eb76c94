#pragma once
// catch_workers_output (php-fpm's fpm_stdio): a child's stdout and stderr
// are pipes the master reads; every line a page writes there goes to the
// error log as php-fpm writes it:
//   WARNING: [pool www] child 1234 said into stderr: "the line"
// or, with decorate_workers_output = no, as the page wrote it. A line
// longer than log_limit is wrapped as php-fpm 8.2 does: each piece a whole
// log line of at most log_limit - 1 bytes, its decoration included (with
// error_log = syslog, the message syslog(3) gets: "[WARNING] [pool ...").
// php-fpm 8.2 itself sends worker output to its stderr even then, which its
// daemon has on /dev/null: cppfpm sends it to syslog rather than lose it.
#include <sys/types.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace cppfpm::pool {

// The spdlog logger (server/log.cpp) that writes a message alone on its
// line, for decorate_workers_output = no.
inline constexpr const char* kUndecoratedLogger = "cppfpm-undecorated";
// The one for decorated worker lines: the error log's prefix, but never
// cut to log_limit as the master's own lines are (the pieces fit already).
inline constexpr const char* kWorkerLogger = "cppfpm-worker";

// The bytes the error log puts before a decorated worker line's
// "[pool ...": 32 in a file or on stderr ("[01-Dec-2026 17:08:10] WARNING: "),
// 10 for syslog ("[WARNING] "; syslog stamps the time itself). Set by the
// log (server/log.cpp) as it opens; each piece is sized so that the whole
// line, or syslog message, stays within log_limit - 1 bytes.
void set_worker_line_prefix_size(std::size_t size);

// The write ends a child puts on its fds 1 and 2 (-1: not caught).
struct WorkerOutputEnds {
  int stdout_fd = -1;
  int stderr_fd = -1;
};

struct WorkerOutputStyle {
  bool decorate = true;  // decorate_workers_output
  int log_limit = 1024;  // [global] log_limit
};

class WorkerOutput {
 public:
  using Style = WorkerOutputStyle;
  explicit WorkerOutput(std::string pool, Style style = {})
      : pool_(std::move(pool)), style_(style) {}
  ~WorkerOutput();
  WorkerOutput(const WorkerOutput&) = delete;
  WorkerOutput& operator=(const WorkerOutput&) = delete;

  // Master, before fork(): two pipes; false (logged) when pipe2() fails.
  bool open(WorkerOutputEnds& ends);
  // Master, after fork(): the child `pid` owns the pipes of the last open().
  void adopt(pid_t pid, const WorkerOutputEnds& ends);
  // Master, fork() failed: closes the pipes of the last open().
  void discard(const WorkerOutputEnds& ends);
  // Child, after fork(): closes every read end it inherited.
  void close_inherited();

  // Read ends to poll, and what to do when one is readable: log its
  // complete lines; at end of file the rest, then close it.
  std::vector<int> fds() const;
  bool owns(int fd) const { return streams_.count(fd) > 0; }
  void on_readable(int fd);

  // How many bytes of a line written by `pid` into `stream` ("stdout" or
  // "stderr") fit in one log line.
  std::size_t piece_size(pid_t pid, std::string_view stream) const;

 private:
  struct Stream {
    pid_t pid = 0;
    const char* name = "";  // "stdout" or "stderr"
    std::string partial;
  };
  void log_line(const Stream& stream, std::string_view line) const;
  void close_stream(int fd);

  std::string pool_;
  Style style_;
  int pending_read_[2] = {-1, -1};  // read ends of the last open()
  std::map<int, Stream> streams_;
};

}  // namespace cppfpm::pool
