#pragma once
// php-fpm's values for user, group, listen.owner and listen.group
// (fpm_unix.c): a name looked up in the user / group database, or a
// number, used as it is, whether the database knows it or not.
#include <sys/types.h>

#include <optional>
#include <string>

namespace cppfpm::server {

std::optional<uid_t> find_uid(const std::string& user);
std::optional<gid_t> find_gid(const std::string& group);

// True for a value php-fpm takes as a number: digits only.
bool is_numeric_id(const std::string& value);

}  // namespace cppfpm::server
