#pragma once
// Loading the configuration at start (-t too) and on reload: the same
// findings, printed to stderr at start and logged on reload.
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "pool/config.h"

namespace cppfpm::server {

// What the command line adds to the file (php-fpm's -p, -g, -R, -d).
struct StartSettings {
  std::string prefix;       // -p: relative paths resolve against it
  std::string pid;          // -g: the pid file when the config names none
  bool allow_root = false;  // -R
  bool as_root = false;     // the master runs as root (geteuid() == 0)
  std::vector<std::pair<std::string, std::string>> defines;  // -d name=value
};

// A finding of the program rather than of a file line, at php-fpm's level
// ("ALERT", "ERROR", "WARNING").
struct Finding {
  std::string level;
  std::string text;
};

struct ConfigCheck {
  std::string path;                    // the file read
  std::optional<pool::Config> config;  // set exactly when the file is usable
  bool loaded = false;                 // the file itself was read without errors
  std::vector<pool::Diagnostic> warnings;
  std::vector<pool::Diagnostic> errors;
  std::vector<Finding> findings;
};

// Loads `path` with the command line's settings, resolves relative paths
// against the prefix, and checks each pool's user/group as the children
// will need them (a root master refuses a pool without `user` unless -R).
ConfigCheck check_config(const std::string& path, const StartSettings& settings = {});

// At start: each line in php-fpm's shape, "[01-Dec-2026 17:14:26] LEVEL: ":
// warnings as "WARNING: FILE:LINE: ...", errors as "ERROR: FILE:LINE: ...",
// findings as "LEVEL: ...", then php-fpm's verdict
// "ERROR: failed to load configuration file '...'" (or "failed to post
// process the configuration") when the file is unusable, one per line.
void print_config_check(const ConfigCheck& check, std::ostream& out);

// On reload: the same lines in the log, at their level (warn / error).
void log_config_check(const ConfigCheck& check);

// At start, not as root: php-fpm's notice for each pool's user and group,
// which only a root master can switch to.
void log_ignored_identity(const pool::Config& config);

}  // namespace cppfpm::server
