#include "server/fastcgi/socket_acl.h"

#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cppfpm::server {
namespace {

// linux/posix_acl_xattr.h and linux/posix_acl.h.
constexpr std::uint32_t kVersion = 2;
constexpr std::uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08,
                        kMask = 0x10, kOther = 0x20;
constexpr std::uint32_t kUndefinedId = 0xffffffff;
constexpr std::uint16_t kReadWrite = 4 | 2;

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

void entry(std::string& out, std::uint16_t tag, std::uint16_t perm, std::uint32_t id) {
  put_le(out, tag, 2);
  put_le(out, perm, 2);
  put_le(out, id, 4);
}

}  // namespace

std::string posix_acl_xattr(mode_t mode, const std::vector<uid_t>& users,
                            const std::vector<gid_t>& groups) {
  std::vector<uid_t> u = users;
  std::vector<gid_t> g = groups;
  std::sort(u.begin(), u.end());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  auto group_perm = static_cast<std::uint16_t>((mode >> 3) & 7);
  std::string out;
  put_le(out, kVersion, 4);
  entry(out, kUserObj, static_cast<std::uint16_t>((mode >> 6) & 7), kUndefinedId);
  for (uid_t id : u) entry(out, kUser, kReadWrite, id);
  entry(out, kGroupObj, group_perm, kUndefinedId);
  for (gid_t id : g) entry(out, kGroup, kReadWrite, id);
  if (!u.empty() || !g.empty())
    entry(out, kMask, static_cast<std::uint16_t>(group_perm | kReadWrite), kUndefinedId);
  entry(out, kOther, static_cast<std::uint16_t>(mode & 7), kUndefinedId);
  return out;
}

std::string set_socket_acl(const std::string& path, mode_t mode, const std::vector<uid_t>& users,
                           const std::vector<gid_t>& groups) {
  std::string value = posix_acl_xattr(mode, users, groups);
  if (::setxattr(path.c_str(), "system.posix_acl_access", value.data(), value.size(), 0) == 0)
    return {};
  int err = errno;
  return "setxattr(system.posix_acl_access) failed for " + path + ": " + std::strerror(err) + " (" +
         std::to_string(err) + ")";
}

}  // namespace cppfpm::server
