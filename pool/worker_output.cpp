#include "pool/worker_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace cppfpm::pool {

namespace {
std::atomic<std::size_t> g_line_prefix_size{32};
}  // namespace

void set_worker_line_prefix_size(std::size_t size) {
  g_line_prefix_size.store(size, std::memory_order_relaxed);
}

WorkerOutput::~WorkerOutput() {
  for (const auto& [fd, stream] : streams_) ::close(fd);
  for (int fd : pending_read_)
    if (fd >= 0) ::close(fd);
}

bool WorkerOutput::open(WorkerOutputEnds& ends) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    spdlog::error("[pool {}] pipe2() failed for catch_workers_output: {} ({})", pool_,
                  std::strerror(errno), errno);
    return false;
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    spdlog::error("[pool {}] pipe2() failed for catch_workers_output: {} ({})", pool_,
                  std::strerror(errno), errno);
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  pending_read_[0] = out[0];
  pending_read_[1] = err[0];
  ends = WorkerOutputEnds{out[1], err[1]};
  return true;
}

void WorkerOutput::adopt(pid_t pid, const WorkerOutputEnds& ends) {
  ::close(ends.stdout_fd);
  ::close(ends.stderr_fd);
  for (int i = 0; i < 2; ++i) {
    int fd = pending_read_[i];
    pending_read_[i] = -1;
    if (fd < 0) continue;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    streams_[fd] = Stream{pid, i == 0 ? "stdout" : "stderr", {}};
  }
}

void WorkerOutput::discard(const WorkerOutputEnds& ends) {
  ::close(ends.stdout_fd);
  ::close(ends.stderr_fd);
  for (int& fd : pending_read_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

void WorkerOutput::close_inherited() {
  for (const auto& [fd, stream] : streams_) ::close(fd);
  streams_.clear();
  for (int& fd : pending_read_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

std::vector<int> WorkerOutput::fds() const {
  std::vector<int> out;
  for (const auto& [fd, stream] : streams_) out.push_back(fd);
  return out;
}

void WorkerOutput::log_line(const Stream& stream, std::string_view line) const {
  if (!style_.decorate) {
    // The error log's own lines, without the time, level and child.
    if (auto raw = spdlog::get(kUndecoratedLogger)) raw->warn("{}", line);
    return;
  }
  auto logger = spdlog::get(kWorkerLogger);
  if (!logger) logger = spdlog::default_logger();
  logger->warn("[pool {}] child {} said into {}: \"{}\"", pool_, stream.pid, stream.name, line);
}

std::size_t WorkerOutput::piece_size(pid_t pid, std::string_view stream) const {
  std::size_t limit = static_cast<std::size_t>(style_.log_limit) - 1;  // the newline aside
  if (!style_.decorate) return limit;
  // The log's prefix and `[pool www] child 4915 said into stderr: "..."`.
  std::size_t decoration = g_line_prefix_size.load(std::memory_order_relaxed) + pool_.size() +
                           std::to_string(pid).size() + stream.size() + 29;
  return limit > decoration ? limit - decoration : 1;
}

void WorkerOutput::on_readable(int fd) {
  auto it = streams_.find(fd);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  char buf[8192];
  // A bounded number of reads per wake-up: a chatty child cannot hold the
  // master away from signals and pm maintenance.
  for (int round = 0; round < 16; ++round) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {  // the child is gone (or the pipe broke): the rest, then close
      if (!stream.partial.empty()) log_line(stream, stream.partial);
      close_stream(fd);
      return;
    }
    stream.partial.append(buf, static_cast<std::size_t>(n));
    const std::size_t piece = piece_size(stream.pid, stream.name);
    std::size_t start = 0;
    while (true) {
      std::size_t nl = stream.partial.find('\n', start);
      std::size_t end = nl == std::string::npos ? stream.partial.size() : nl;
      if (end - start > piece) {
        end = start + piece;  // an over-long line comes in pieces
      } else if (nl == std::string::npos) {
        break;  // the rest of this line is still to come
      }
      log_line(stream, std::string_view(stream.partial).substr(start, end - start));
      start = end < stream.partial.size() && stream.partial[end] == '\n' ? end + 1 : end;
    }
    stream.partial.erase(0, start);
  }
}

void WorkerOutput::close_stream(int fd) {
  ::close(fd);
  streams_.erase(fd);
}

}  // namespace cppfpm::pool
