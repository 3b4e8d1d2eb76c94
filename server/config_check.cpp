#include "server/config_check.h"

#include <spdlog/spdlog.h>

#include "pool/child_setup.h"

namespace cppfpm::server {

namespace {
std::string failure(const ConfigCheck& check) {
  return "failed to load configuration file '" + check.path + "'";
}
}  // namespace

ConfigCheck check_config(const std::string& path) {
  ConfigCheck check{path, std::nullopt, {}, {}};
  if (path.empty()) {
    check.config = pool::default_config();
    return check;
  }
  pool::LoadResult result = pool::load_config(path);
  check.warnings = std::move(result.warnings);
  check.errors = std::move(result.errors);
  if (!result.ok()) return check;
  // The identity check needs the whole file loaded, so it comes second.
  for (const auto& p : result.config->pools)
    if (std::string why = pool::check_pool_identity(p); !why.empty())
      check.errors.push_back(pool::Diagnostic{path, 0, why});
  if (check.errors.empty()) check.config = std::move(result.config);
  return check;
}

void print_config_check(const ConfigCheck& check, std::ostream& out) {
  for (const auto& w : check.warnings) out << "WARNING: " << w.str() << "\n";
  for (const auto& e : check.errors) out << e.str() << "\n";
  if (!check.config) out << "ERROR: " << failure(check) << "\n";
}

void log_config_check(const ConfigCheck& check) {
  for (const auto& w : check.warnings) spdlog::warn("{}", w.str());
  for (const auto& e : check.errors) spdlog::error("{}", e.str());
  if (!check.config) spdlog::error("{}", failure(check));
}

}  // namespace cppfpm::server
