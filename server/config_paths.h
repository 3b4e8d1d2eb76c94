#pragma once
// php-fpm's -p and -g: relative paths in the config resolve against the
// prefix (fpm_evaluate_full_path), and -g names the pid file when the
// config does not.
#include <string>

#include "pool/config.h"

namespace cppfpm::server {

// Without a prefix relative paths stay relative to the working directory.
// With one: `pid`, `error_log` (default PREFIX/log/cppfpm.log, as php-fpm's
// log/php-fpm.log), `access.log`, `slowlog` and unix socket paths in
// `listen` / `pm.status_listen` become PREFIX/path. "syslog" is left alone.
// A pool's `prefix` replaces the global one for that pool's paths.
void resolve_paths(pool::Config& config, const std::string& prefix, const std::string& pid_option);

// PREFIX/path for a relative path, the path itself otherwise.
std::string under_prefix(const std::string& prefix, const std::string& path);

}  // namespace cppfpm::server
