#include "server/fastcgi/unix_ids.h"

#include <grp.h>
#include <pwd.h>

#include <charconv>

namespace cppfpm::server {
namespace {

template <class Id>
std::optional<Id> number(const std::string& value) {
  unsigned long n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n > static_cast<Id>(-1) - 1)
    return std::nullopt;  // (Id)-1 means "unchanged" to chown(2)
  return static_cast<Id>(n);
}

}  // namespace

bool is_numeric_id(const std::string& value) {
  return !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
}

std::optional<uid_t> find_uid(const std::string& user) {
  if (is_numeric_id(user)) return number<uid_t>(user);
  const passwd* pw = user.empty() ? nullptr : ::getpwnam(user.c_str());
  if (!pw) return std::nullopt;
  return pw->pw_uid;
}

std::optional<gid_t> find_gid(const std::string& group) {
  if (is_numeric_id(group)) return number<gid_t>(group);
  const struct group* gr = group.empty() ? nullptr : ::getgrnam(group.c_str());
  if (!gr) return std::nullopt;
  return gr->gr_gid;
}

}  // namespace cppfpm::server
