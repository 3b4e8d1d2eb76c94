#include "pool/child_setup.h"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace cppfpm::pool {

std::string check_pool_identity(const PoolConfig& c) {
  if (!c.user.empty() && ::getpwnam(c.user.c_str()) == nullptr)
    return "[pool " + c.name + "] cannot get uid for user '" + c.user + "' (user)";
  if (!c.group.empty() && ::getgrnam(c.group.c_str()) == nullptr)
    return "[pool " + c.name + "] cannot get gid for group '" + c.group + "' (group)";
  return {};
}

bool prepare_child_process(const PoolConfig& c) {
  if (c.rlimit_files > 0) {
    rlimit limit{static_cast<rlim_t>(c.rlimit_files), static_cast<rlim_t>(c.rlimit_files)};
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
      spdlog::warn(
          "[pool {}] failed to set rlimit_files for this pool: setrlimit(RLIMIT_NOFILE, {}) "
          "failed: {}",
          c.name, c.rlimit_files, std::strerror(errno));
  } else if (rlimit limit{};
             ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    // Idle and slow clients each hold a descriptor: take what the hard limit allows.
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
      spdlog::warn("[pool {}] setrlimit(RLIMIT_NOFILE, {}) failed: {} ({})", c.name,
                   static_cast<unsigned long long>(limit.rlim_max), std::strerror(errno), errno);
  }
  if (c.clear_env) ::clearenv();
  for (const auto& [name, value] : c.env) ::setenv(name.c_str(), value.c_str(), 1);

  if (::geteuid() != 0 || (c.user.empty() && c.group.empty())) return true;
  const passwd* pw = c.user.empty() ? nullptr : ::getpwnam(c.user.c_str());
  if (!c.user.empty() && !pw) {
    spdlog::error("[pool {}] cannot get uid for user '{}'", c.name, c.user);
    return false;
  }
  gid_t gid = pw ? pw->pw_gid : ::getegid();
  if (!c.group.empty()) {
    const group* gr = ::getgrnam(c.group.c_str());
    if (!gr) {
      spdlog::error("[pool {}] cannot get gid for group '{}'", c.name, c.group);
      return false;
    }
    gid = gr->gr_gid;
  }
  if (::setgid(gid) != 0) {
    spdlog::error("[pool {}] failed to setgid({}): {}", c.name, gid, std::strerror(errno));
    return false;
  }
  if (pw && ::initgroups(c.user.c_str(), gid) != 0) {
    spdlog::error("[pool {}] failed to initgroups({}, {}): {}", c.name, c.user, gid,
                  std::strerror(errno));
    return false;
  }
  if (pw && ::setuid(pw->pw_uid) != 0) {
    spdlog::error("[pool {}] failed to setuid({}): {}", c.name, pw->pw_uid, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace cppfpm::pool
