#pragma once
// Loading the configuration at start (-t too) and on reload: the same
// findings, printed to stderr at start and logged on reload.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "pool/config.h"

namespace cppfpm::server {

struct ConfigCheck {
  std::string path;                    // the file read; "" = built-in defaults
  std::optional<pool::Config> config;  // set exactly when the file is usable
  std::vector<pool::Diagnostic> warnings;
  std::vector<pool::Diagnostic> errors;
};

// Loads `path` ("" = pool::default_config()) and checks each pool's
// user/group as the children will need them.
ConfigCheck check_config(const std::string& path);

// At start: warnings as "WARNING: FILE:LINE: ...", errors as
// "FILE:LINE: ...", then "ERROR: failed to load configuration file '...'"
// when the file is unusable, one per line.
void print_config_check(const ConfigCheck& check, std::ostream& out);

// On reload: the same lines in the log, at their level (warn / error).
void log_config_check(const ConfigCheck& check);

}  // namespace cppfpm::server
