#pragma once
// listen.acl_users / listen.acl_groups (php-fpm's fpm_unix_set_socket_permissions
// with ACLs): read and write on the unix socket for each listed user and
// group, as a POSIX access ACL. Written as the kernel's
// system.posix_acl_access attribute (linux/posix_acl_xattr.h), so no libacl
// is needed: what `setfacl -m u:NAME:rw,g:NAME:rw` would set.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cppfpm::server {

// The attribute's bytes for a file of `mode` with rw for `users` and
// `groups`: the owner, group and other entries from `mode`, the named
// entries, and the mask covering them, sorted as the kernel requires.
std::string posix_acl_xattr(mode_t mode, const std::vector<uid_t>& users,
                            const std::vector<gid_t>& groups);

// Sets that ACL on `path`; "" or the failure, naming the call and errno.
std::string set_socket_acl(const std::string& path, mode_t mode, const std::vector<uid_t>& users,
                           const std::vector<gid_t>& groups);

}  // namespace cppfpm::server
