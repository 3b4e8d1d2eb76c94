#pragma once
// `cppfpm -tt`: the parsed configuration as php-fpm's -tt prints it
// (fpm_conf_dump): "[global]", then "\tkey = value" lines, a " " line after
// each section; unset text is "undefined", booleans yes/no, durations "Ns".
#include <string>
#include <vector>

#include "pool/config.h"

namespace cppfpm::server {

// The lines, each to be logged as a NOTICE.
std::vector<std::string> dump_config(const pool::Config& config);

}  // namespace cppfpm::server
