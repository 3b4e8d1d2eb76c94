#pragma once
// The re-exec protocol of a graceful reload (SIGUSR2). The old master hands
// the new image, through its environment:
//   CPPFPM_INHERITED_FDS  "address=fd;address=fd;"  listening sockets kept open
//   CPPFPM_OLD_CHILDREN   "pid,pid,"                 children still finishing
//   CPPFPM_REEXEC         "1"                         this start is a reload
//   CPPFPM_HANDOFF_FDS    "listen=receive,send;"      each pool's handoff pair
// The names and formats are an interface between two binaries (an old one
// may exec a new one), so they do not change. An older binary sets no
// CPPFPM_HANDOFF_FDS: new pairs are made, and its children close their kept
// connections as they always did.
#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pool/master.h"
#include "server/fastcgi/fd.h"
#include "server/fastcgi/handoff.h"

namespace cppfpm::server {

inline constexpr const char* kInheritedFdsEnv = "CPPFPM_INHERITED_FDS";
inline constexpr const char* kOldChildrenEnv = "CPPFPM_OLD_CHILDREN";
inline constexpr const char* kReexecEnv = "CPPFPM_REEXEC";
inline constexpr const char* kHandoffFdsEnv = "CPPFPM_HANDOFF_FDS";

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

// A pool's reload handoff pair (server/fastcgi/handoff.h) by its `listen`
// value: the kept connections of a pool go to the pool that listens on the
// same address after the reload.
using NamedHandoff = std::pair<std::string, HandoffSockets>;
std::string encode_handoff_fds(const std::vector<NamedHandoff>& pairs);

struct InheritedHandoffs {
  std::map<std::string, HandoffSockets> pairs;
  std::vector<std::string> errors;
};
// Decodes CPPFPM_HANDOFF_FDS as decode_inherited_fds() does its variable:
// a malformed entry stops the decoding, a pair whose fds are not unix
// datagram sockets is skipped; both are named in `errors`.
InheritedHandoffs decode_handoff_fds(std::string_view value);

// Each pool's handoff pair, kept open for the master's life and the next
// re-exec: the one of the previous generation for its `listen`, else a new
// one (a pool without, if that fails: logged, its kept connections are then
// closed on a reload as before). Inherited pairs no pool takes are closed.
class HandoffPairs {
 public:
  // Reads (and removes) CPPFPM_HANDOFF_FDS; gives each of `pools` its pair.
  void assign(std::vector<pool::PoolRuntime>& pools);
  const std::vector<NamedHandoff>& named() const { return named_; }

 private:
  std::vector<Fd> open_;
  std::vector<NamedHandoff> named_;
};

// Executes /proc/self/exe with `argv` again, the listeners left open across
// the exec and named in the environment with the old children. Returns only
// by exiting, when execv() fails.
[[noreturn]] void reexec(char** argv, const std::vector<NamedListener>& listeners,
                         const std::set<pid_t>& children,
                         const std::vector<NamedHandoff>& handoffs = {});

}  // namespace cppfpm::server
