#include "server/reexec.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace cppfpm::server {

namespace {

// A whole non-negative int, nothing before or after it.
template <typename Int>
bool parse_number(std::string_view text, Int& value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc{} && ptr == end && value >= 0;
}

// "" when `fd` is an open socket in the listening state, else why not.
std::string why_not_listening(int fd) {
  int listening = 0;
  socklen_t size = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0)
    return std::string("getsockopt(SO_ACCEPTCONN) failed: ") + std::strerror(errno);
  if (!listening) return "not listening";
  return {};
}

// Calls `item` on each `separator`-terminated piece of `list`; the last
// piece may lack its separator. Stops when `item` returns false.
template <typename Item>
void for_each_item(std::string_view list, char separator, Item item) {
  while (!list.empty()) {
    auto end = list.find(separator);
    if (!item(list.substr(0, end))) return;
    list = end == std::string_view::npos ? std::string_view{} : list.substr(end + 1);
  }
}

std::string take_env(const char* name) {
  const char* value = std::getenv(name);
  std::string copy = value ? value : "";
  ::unsetenv(name);
  return copy;
}

}  // namespace

std::string encode_inherited_fds(const std::vector<NamedListener>& listeners) {
  std::string value;
  for (const auto& [address, fd] : listeners) value += address + "=" + std::to_string(fd) + ";";
  return value;
}

std::string encode_old_children(const std::set<pid_t>& pids) {
  std::string value;
  for (pid_t pid : pids) value += std::to_string(pid) + ",";
  return value;
}

InheritedFds decode_inherited_fds(std::string_view value) {
  InheritedFds result;
  const std::string variable = std::string(kInheritedFdsEnv) + " environment variable";
  for_each_item(value, ';', [&](std::string_view entry) {
    if (entry.empty()) return true;
    // rfind: a unix socket path may itself contain '='.
    auto eq = entry.rfind('=');
    int fd = -1;
    if (eq == std::string_view::npos || !parse_number(entry.substr(eq + 1), fd)) {
      result.errors.push_back("invalid socket number \"" + std::string(entry) + "\" in " +
                              variable + ", ignoring the rest of the variable");
      return false;
    }
    if (std::string why = why_not_listening(fd); !why.empty()) {
      result.errors.push_back("inherited socket #" + std::to_string(fd) + " of \"" +
                              std::string(entry) + "\" in " + variable +
                              " is not a listening socket (" + why + "), ignoring it");
      return true;
    }
    result.fds[std::string(entry.substr(0, eq))] = fd;
    return true;
  });
  return result;
}

OldChildren decode_old_children(std::string_view value) {
  OldChildren result;
  for_each_item(value, ',', [&](std::string_view entry) {
    if (entry.empty()) return true;
    pid_t pid = 0;
    if (parse_number(entry, pid) && pid > 0)
      result.pids.insert(pid);
    else
      result.errors.push_back("invalid process id \"" + std::string(entry) + "\" in " +
                              kOldChildrenEnv + " environment variable, ignoring it");
    return true;
  });
  return result;
}

InheritedFds take_inherited_fds() {
  InheritedFds inherited = decode_inherited_fds(take_env(kInheritedFdsEnv));
  for (const auto& error : inherited.errors) spdlog::error("{}", error);
  return inherited;
}

std::set<pid_t> take_old_children() {
  OldChildren old = decode_old_children(take_env(kOldChildrenEnv));
  for (const auto& error : old.errors) spdlog::error("{}", error);
  return std::move(old.pids);
}

bool take_reexec_marker() {
  bool reexecuted = std::getenv(kReexecEnv) != nullptr;
  ::unsetenv(kReexecEnv);
  return reexecuted;
}

std::string encode_handoff_fds(const std::vector<NamedHandoff>& pairs) {
  std::string value;
  for (const auto& [listen, pair] : pairs)
    value += listen + "=" + std::to_string(pair.receive) + "," + std::to_string(pair.send) + ";";
  return value;
}

InheritedHandoffs decode_handoff_fds(std::string_view value) {
  InheritedHandoffs result;
  const std::string variable = std::string(kHandoffFdsEnv) + " environment variable";
  for_each_item(value, ';', [&](std::string_view entry) {
    if (entry.empty()) return true;
    auto eq = entry.rfind('=');
    auto comma = eq == std::string_view::npos ? eq : entry.find(',', eq);
    HandoffSockets pair;
    if (comma == std::string_view::npos ||
        !parse_number(entry.substr(eq + 1, comma - eq - 1), pair.receive) ||
        !parse_number(entry.substr(comma + 1), pair.send)) {
      result.errors.push_back("invalid socket numbers \"" + std::string(entry) + "\" in " +
                              variable + ", ignoring the rest of the variable");
      return false;
    }
    if (!is_unix_datagram_socket(pair.receive) || !is_unix_datagram_socket(pair.send)) {
      result.errors.push_back("inherited sockets of \"" + std::string(entry) + "\" in " + variable +
                              " are not a unix datagram socket pair, ignoring them");
      return true;
    }
    result.pairs[std::string(entry.substr(0, eq))] = pair;
    return true;
  });
  return result;
}

void HandoffPairs::assign(std::vector<pool::PoolRuntime>& pools) {
  InheritedHandoffs inherited = decode_handoff_fds(take_env(kHandoffFdsEnv));
  for (const auto& error : inherited.errors) spdlog::error("{}", error);
  std::map<std::string, std::pair<Fd, Fd>> left;
  for (const auto& [listen, pair] : inherited.pairs) {
    left[listen] = {Fd(pair.receive), Fd(pair.send)};
    // Close-on-exec again: they were passed across the exec only.
    ::fcntl(pair.receive, F_SETFD, FD_CLOEXEC);
    ::fcntl(pair.send, F_SETFD, FD_CLOEXEC);
  }
  for (auto& runtime : pools) {
    const std::string& listen = runtime.config->listen;
    HandoffSockets pair;
    if (auto it = left.find(listen); it != left.end()) {
      pair = {it->second.first.get(), it->second.second.get()};
      open_.push_back(std::move(it->second.first));
      open_.push_back(std::move(it->second.second));
      left.erase(it);
    } else {
      try {
        pair = open_handoff_sockets();
      } catch (const std::exception& e) {
        spdlog::error("[pool {}] {}", runtime.config->name, e.what());
        continue;
      }
      open_.emplace_back(pair.receive);
      open_.emplace_back(pair.send);
    }
    runtime.handoff_receive = pair.receive;
    runtime.handoff_send = pair.send;
    named_.emplace_back(listen, pair);
  }
  // `left` closes the pairs no pool takes any more.
}

namespace {

// php-fpm's line before it re-executes itself (fpm_pctl_exec):
// reloading: execvp("php-fpm", {"php-fpm", "-F", "-y", "php-fpm.conf"})
std::string describe_exec(char** argv) {
  std::string program = argv[0] ? argv[0] : "";
  std::string line = "reloading: execvp(\"" + program + "\", {";
  for (char** arg = argv; *arg; ++arg) {
    if (arg != argv) line += ", ";
    line += '"';
    line += *arg;
    line += '"';
  }
  return line + "})";
}

}  // namespace

void reexec(char** argv, const std::vector<NamedListener>& listeners,
            const std::set<pid_t>& children, const std::vector<NamedHandoff>& handoffs) {
  // The listeners are close-on-exec like every fd we open; these must survive.
  for (const auto& listener : listeners) ::fcntl(listener.second, F_SETFD, 0);
  for (const auto& [listen, pair] : handoffs) {
    ::fcntl(pair.receive, F_SETFD, 0);
    ::fcntl(pair.send, F_SETFD, 0);
  }
  ::setenv(kHandoffFdsEnv, encode_handoff_fds(handoffs).c_str(), 1);
  ::setenv(kInheritedFdsEnv, encode_inherited_fds(listeners).c_str(), 1);
  ::setenv(kOldChildrenEnv, encode_old_children(children).c_str(), 1);
  ::setenv(kReexecEnv, "1", 1);
  spdlog::info("{}", describe_exec(argv));
  spdlog::default_logger()->flush();
  ::execv("/proc/self/exe", argv);
  spdlog::critical("execv() failed during reload: {}", std::strerror(errno));
  ::_exit(1);
}

}  // namespace cppfpm::server
