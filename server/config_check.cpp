#include "server/config_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "pool/child_setup.h"
#include "server/config_paths.h"
#include "server/log.h"

namespace cppfpm::server {

namespace {

std::string load_failure(const ConfigCheck& check) {
  return "failed to load configuration file '" + check.path + "'";
}

// php-fpm's verdict once the file was read but a pool cannot run.
constexpr const char* kPostProcessFailure = "failed to post process the configuration";

// php-fpm's words for a file it cannot open (fpm_conf_load_ini_file).
std::optional<std::string> open_failure(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return std::nullopt;
  }
  int err = errno;
  return "failed to open configuration file '" + path + "': " + std::strerror(err) + " (" +
         std::to_string(err) + ")";
}

// -d sets the settings cppfpm has that a PHP ini could: the session ones,
// and cppfpm's own sql.* and cache.*.
bool definable(const std::string& name) {
  for (const char* prefix : {"session.", "sql.", "cache."})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

ConfigCheck check_config(const std::string& path, const StartSettings& settings) {
  ConfigCheck check{path, std::nullopt, false, {}, {}, {}};
  if (!settings.prefix.empty() && !is_directory(settings.prefix)) {
    check.findings.push_back({"ERROR", "the global prefix '" + settings.prefix +
                                           "' does not exist or is not a directory"});
    return check;
  }
  if (auto why = open_failure(path)) {
    check.findings.push_back({"ERROR", *why});
    return check;
  }
  pool::PoolDefaults defaults;
  for (const auto& [name, value] : settings.defines) {
    if (definable(name))
      defaults.emplace_back(name, value);
    else
      check.findings.push_back({"WARNING", "-d " + name + " is ignored: cppfpm has no such " +
                                               "setting (-d sets session.*, sql.* and cache.*)"});
  }
  pool::LoadResult result = pool::load_config(path, defaults);
  check.warnings = std::move(result.warnings);
  check.errors = std::move(result.errors);
  if (!result.ok()) return check;
  // The identity check needs the whole file loaded, so it comes second.
  for (const auto& p : result.config->pools)
    if (std::string why = pool::check_pool_identity(p); !why.empty())
      check.errors.push_back(pool::Diagnostic{path, 0, why});
  if (!check.errors.empty()) return check;
  check.loaded = true;
  // php-fpm refuses to run a pool as root by omission (fpm_conf.c).
  if (settings.as_root && !settings.allow_root)
    for (const auto& p : result.config->pools)
      if (p.user.empty())
        check.findings.push_back({"ALERT", "[pool " + p.name + "] user has not been defined"});
  for (const auto& finding : check.findings)
    if (finding.level == "ALERT" || finding.level == "ERROR") return check;
  resolve_paths(*result.config, settings.prefix, settings.pid);
  check.config = std::move(result.config);
  return check;
}

void print_config_check(const ConfigCheck& check, std::ostream& out) {
  // php-fpm's shape: "[01-Dec-2026 17:14:26] ERROR: ...".
  const std::string stamp = log_time_prefix();
  for (const auto& w : check.warnings) out << stamp << "WARNING: " << w.str() << "\n";
  for (const auto& e : check.errors) out << stamp << "ERROR: " << e.str() << "\n";
  for (const auto& f : check.findings) out << stamp << f.level << ": " << f.text << "\n";
  if (!check.config)
    out << stamp << "ERROR: " << (check.loaded ? kPostProcessFailure : load_failure(check)) << "\n";
}

void log_config_check(const ConfigCheck& check) {
  for (const auto& w : check.warnings) spdlog::warn("{}", w.str());
  for (const auto& e : check.errors) spdlog::error("{}", e.str());
  for (const auto& f : check.findings) {
    auto level = f.level == "ALERT"   ? spdlog::level::critical
                 : f.level == "ERROR" ? spdlog::level::err
                                      : spdlog::level::warn;
    spdlog::log(level, "{}", f.text);
  }
  if (!check.config)
    spdlog::error("{}", check.loaded ? std::string(kPostProcessFailure) : load_failure(check));
}

void log_ignored_identity(const pool::Config& config) {
  for (const auto& p : config.pools) {
    if (!p.user.empty())
      spdlog::info("[pool {}] 'user' directive is ignored when FPM is not running as root", p.name);
    if (!p.group.empty())
      spdlog::info("[pool {}] 'group' directive is ignored when FPM is not running as root",
                   p.name);
  }
}

}  // namespace cppfpm::server
