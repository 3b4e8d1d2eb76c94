#pragma once
// The re-exec protocol of a graceful reload (SIGUSR2). The old master hands
// the new image, through its environment:
//   CPPFPM_INHERITED_FDS  "address=fd;address=fd;"  listening sockets kept open
//   CPPFPM_OLD_CHILDREN   "pid,pid,"                 children still finishing
//   CPPFPM_REEXEC         "1"                         this start is a reload
// The names and formats are an interface between two binaries (an old one
// may exec a new one), so they do not change.
#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cppfpm::server {

inline constexpr const char* kInheritedFdsEnv = "CPPFPM_INHERITED_FDS";
inline constexpr const char* kOldChildrenEnv = "CPPFPM_OLD_CHILDREN";
inline constexpr const char* kReexecEnv = "CPPFPM_REEXEC";

// A listening socket by its address as ListenAddress::str() spells it.
using NamedListener = std::pair<std::string, int>;

std::string encode_inherited_fds(const std::vector<NamedListener>& listeners);
std::string encode_old_children(const std::set<pid_t>& pids);

struct InheritedFds {
  std::map<std::string, int> fds;   // address -> an open listening socket
  std::vector<std::string> errors;  // one log line per bad entry, nginx's wording
};

// Decodes CPPFPM_INHERITED_FDS. A malformed entry (no '=', a socket number
// that is not a non-negative int) stops the decoding there, as nginx does
// with its NGINX variable: what follows cannot be trusted. An entry whose fd
// is not an open listening socket is skipped alone. Either way the bad entry
// is named in `errors` and never used.
InheritedFds decode_inherited_fds(std::string_view value);

struct OldChildren {
  std::set<pid_t> pids;
  std::vector<std::string> errors;  // one log line per entry that is not a pid
};
OldChildren decode_old_children(std::string_view value);

// Each reads its variable once, removes it from the environment (the
// children must not see it) and logs the decoding errors.
InheritedFds take_inherited_fds();
std::set<pid_t> take_old_children();
bool take_reexec_marker();

// Executes /proc/self/exe with `argv` again, the listeners left open across
// the exec and named in the environment with the old children. Returns only
// by exiting, when execv() fails.
[[noreturn]] void reexec(char** argv, const std::vector<NamedListener>& listeners,
                         const std::set<pid_t>& children);

}  // namespace cppfpm::server
