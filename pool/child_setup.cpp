#include "pool/child_setup.h"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <optional>

#include <spdlog/spdlog.h>

#include "server/fastcgi/unix_ids.h"

namespace cppfpm::pool {

// user and group as php-fpm resolves them (fpm_unix_conf_wp): a name from
// the databases, or a number as it is; a numeric user known to the
// database also gives its group and its supplementary groups.
struct Identity {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::string name;  // for initgroups(); "" for a number the database does not know
  std::string error;
};

Identity resolve_identity(const PoolConfig& c) {
  Identity id;
  if (!c.user.empty()) {
    id.uid = server::find_uid(c.user);
    if (!id.uid) {
      id.error = "[pool " + c.name + "] cannot get uid for user '" + c.user + "'";
      return id;
    }
    if (const passwd* pw = ::getpwuid(*id.uid)) {
      id.gid = pw->pw_gid;
      id.name = pw->pw_name;
    }
  }
  if (!c.group.empty()) {
    id.gid = server::find_gid(c.group);
    if (!id.gid) id.error = "[pool " + c.name + "] cannot get gid for group '" + c.group + "'";
  }
  return id;
}

std::string check_pool_identity(const PoolConfig& c) {
  Identity id = resolve_identity(c);
  if (!id.error.empty()) return id.error + (id.uid || c.user.empty() ? " (group)" : " (user)");
  // php-fpm's words for the socket's owner (fpm_unix_resolve_socket_permissions).
  if (!c.listen_owner.empty() && !server::find_uid(c.listen_owner))
    return "[pool " + c.name + "] cannot get uid for user '" + c.listen_owner + "' (listen.owner)";
  if (!c.listen_group.empty() && !server::find_gid(c.listen_group))
    return "[pool " + c.name + "] cannot get gid for group '" + c.listen_group + "' (listen.group)";
  for (const auto& user : c.listen_acl_users)
    if (!server::find_uid(user))
      return "[pool " + c.name + "] cannot get uid for user '" + user + "' (listen.acl_users)";
  for (const auto& group : c.listen_acl_groups)
    if (!server::find_gid(group))
      return "[pool " + c.name + "] cannot get gid for group '" + group + "' (listen.acl_groups)";
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
  Identity id = resolve_identity(c);
  if (!id.error.empty()) {
    spdlog::error("{}", id.error);
    return false;
  }
  gid_t gid = id.gid.value_or(::getegid());
  if (::setgid(gid) != 0) {
    spdlog::error("[pool {}] failed to setgid({}): {}", c.name, gid, std::strerror(errno));
    return false;
  }
  // Supplementary groups: the user's, or none but `gid` for a bare number.
  if (id.uid && !id.name.empty() && ::initgroups(id.name.c_str(), gid) != 0) {
    spdlog::error("[pool {}] failed to initgroups({}, {}): {}", c.name, id.name, gid,
                  std::strerror(errno));
    return false;
  }
  if (id.uid && id.name.empty() && ::setgroups(1, &gid) != 0) {
    spdlog::error("[pool {}] failed to setgroups({}): {}", c.name, gid, std::strerror(errno));
    return false;
  }
  if (id.uid && ::setuid(*id.uid) != 0) {
    spdlog::error("[pool {}] failed to setuid({}): {}", c.name, *id.uid, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace cppfpm::pool
