#include "pool/config_builder.h"

#include <strings.h>
#include <syslog.h>

#include <algorithm>
#include <climits>

#include "pool/config_setters.h"

namespace cppfpm::pool {

std::optional<std::string_view> lookup(const IgnoredKeys& table, std::string_view key) {
  auto found = table.find(key);
  if (found == table.end()) return std::nullopt;
  return found->second;
}

namespace {

using namespace setters;

std::string set_log_level(GlobalConfig& global, const std::string& value) {
  static constexpr std::string_view kLevels[] = {"alert", "error", "warning", "notice", "debug"};
  if (std::find(std::begin(kLevels), std::end(kLevels), value) == std::end(kLevels)) {
    return "is not a log level; use alert, error, warning, notice or debug";
  }
  global.log_level = value;
  return {};
}

// php-fpm's facility names (fpm_conf.c), in any case.
std::string set_syslog_facility(GlobalConfig& global, const std::string& value) {
  static constexpr std::pair<const char*, int> kFacilities[] = {
      {"AUTH", LOG_AUTH},     {"AUTHPRIV", LOG_AUTHPRIV}, {"CRON", LOG_CRON},
      {"DAEMON", LOG_DAEMON}, {"FTP", LOG_FTP},           {"KERN", LOG_KERN},
      {"LPR", LOG_LPR},       {"MAIL", LOG_MAIL},         {"NEWS", LOG_NEWS},
      {"SYSLOG", LOG_SYSLOG}, {"USER", LOG_USER},         {"UUCP", LOG_UUCP},
      {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1},     {"LOCAL2", LOG_LOCAL2},
      {"LOCAL3", LOG_LOCAL3}, {"LOCAL4", LOG_LOCAL4},     {"LOCAL5", LOG_LOCAL5},
      {"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7},
  };
  for (const auto& [name, facility] : kFacilities)
    if (::strcasecmp(name, value.c_str()) == 0) {
      global.syslog_facility = facility;
      return {};
    }
  return "is not a syslog facility; use DAEMON, USER, LOCAL0 to LOCAL7, AUTH, AUTHPRIV, CRON, "
         "FTP, KERN, LPR, MAIL, NEWS, SYSLOG or UUCP";
}

const std::map<std::string, Setter<GlobalConfig>, std::less<>>& global_keys() {
  static const std::map<std::string, Setter<GlobalConfig>, std::less<>> keys = {
      {"pid", text<&GlobalConfig::pid>},
      {"error_log", text<&GlobalConfig::error_log>},
      {"log_level", set_log_level},
      {"syslog.ident", non_empty_text<&GlobalConfig::syslog_ident>},
      {"syslog.facility", set_syslog_facility},
      {"log_limit", integer<&GlobalConfig::log_limit, 512, INT_MAX>},
      {"log_buffering", boolean<&GlobalConfig::log_buffering>},
      {"daemonize", boolean<&GlobalConfig::daemonize>},
      {"emergency_restart_threshold",
       integer<&GlobalConfig::emergency_restart_threshold, 0, INT_MAX>},
      {"emergency_restart_interval", duration<&GlobalConfig::emergency_restart_interval>},
      {"process_control_timeout", duration<&GlobalConfig::process_control_timeout>},
      {"systemd_interval", duration<&GlobalConfig::systemd_interval>},
  };
  return keys;
}

std::optional<std::string_view> ignored_global_key(std::string_view key) {
  static const IgnoredKeys reasons = {
      {"process.max", "limit each pool with pm.max_children"},
      {"process.priority", "use nice(1) or systemd's Nice="},
      {"rlimit_files", "set rlimit_files in each pool"},
      {"rlimit_core", "use ulimit -c or systemd's LimitCORE="},
      {"events.mechanism", "cppfpm chooses its own event mechanism"},
  };
  return lookup(reasons, key);
}

// The array keys php-fpm knows, `name[index]`.
bool is_php_ini_array(std::string_view base) {
  return base == "php_value" || base == "php_flag" || base == "php_admin_value" ||
         base == "php_admin_flag";
}

bool is_pool_key(std::string_view key) {
  return honoured_pool_key(key) || ignored_pool_key(key).has_value() ||
         key.find('[') != std::string_view::npos || key.substr(0, 8) == "session.";
}

// "base[index]" -> {base, index}; a key without brackets has no index.
struct KeyParts {
  std::string_view base;
  std::optional<std::string> index;
  bool ok = true;
};

KeyParts split_key(std::string_view key) {
  std::size_t open = key.find('[');
  if (open == std::string_view::npos) return {key, std::nullopt, key.find(']') == key.npos};
  bool ok = open > 0 && key.back() == ']' && key.find('[', open + 1) == key.npos &&
            key.find(']') == key.size() - 1;
  return {key.substr(0, open), std::string(key.substr(open + 1, key.size() - open - 2)), ok};
}

}  // namespace

std::vector<std::string_view> global_key_names() {
  std::vector<std::string_view> names;
  for (const auto& [name, setter] : global_keys()) names.push_back(name);
  return names;
}

Location PoolDraft::where(std::initializer_list<std::string_view> keys) const {
  for (std::string_view key : keys) {
    if (auto found = set_at.find(key); found != set_at.end()) return found->second;
  }
  return section;
}

ConfigBuilder::ConfigBuilder(Diagnostics& diagnostics, EnvLookup env, PoolDefaults defaults)
    : diagnostics_(diagnostics), env_(std::move(env)), defaults_(std::move(defaults)) {}

void ConfigBuilder::on_section(const std::string& name, const Location& where) {
  if (name != "global") pool_named(name, where);
}

void ConfigBuilder::on_setting(const std::string& section, const std::string& key,
                               const std::string& value, const Location& where) {
  if (section.empty() || section == "global") {
    apply_global(key, value, where);
  } else {
    apply_pool(pool_named(section, where), key, value, where);
  }
}

// A second [www] goes on configuring the first one, as in php-fpm.
PoolDraft& ConfigBuilder::pool_named(const std::string& name, const Location& where) {
  auto found = std::find_if(pools_.begin(), pools_.end(),
                            [&](const PoolDraft& pool) { return pool.config.name == name; });
  if (found != pools_.end()) return *found;
  PoolDraft& pool = pools_.emplace_back();
  pool.config.name = name;
  pool.section = where;
  for (const auto& [key, value] : defaults_) apply_pool(pool, key, value, Location{"-d", 0});
  return pool;
}

void ConfigBuilder::apply_global(const std::string& key, const std::string& value,
                                 const Location& where) {
  if (auto found = global_keys().find(key); found != global_keys().end()) {
    if (std::string why = found->second(global_, value); !why.empty()) {
      diagnostics_.error(where, key + " = \"" + value + "\" " + why);
    }
  } else if (auto reason = ignored_global_key(key)) {
    diagnostics_.warning(where, key + " is ignored: " + std::string(*reason));
  } else if (is_pool_key(key)) {
    diagnostics_.warning(where, key + " is a pool setting and has no effect in [global]; " +
                                    "move it into a pool section such as [www]");
  } else {
    diagnostics_.warning(where, "unknown key '" + key + "' in [global] is ignored");
  }
}

void ConfigBuilder::apply_pool(PoolDraft& pool, const std::string& key, const std::string& raw,
                               const Location& where) {
  std::string value = substitute_pool_name(raw, pool.config.name);
  KeyParts parts = split_key(key);
  if (!parts.ok) {
    diagnostics_.error(where, pool.prefix() + "malformed key '" + key + "'; array keys are " +
                                  "written name[index], e.g. env[PATH]");
  } else if (parts.index) {
    apply_pool_array(pool, key, parts.base, *parts.index, value, where);
  } else if (key.rfind("session.", 0) == 0) {
    apply_session_setting(pool, std::string_view(key).substr(8), key, value, where, diagnostics_);
  } else if (std::optional<std::string> why = set_pool_key(pool.config, key, value)) {
    if (why->empty()) {
      pool.set_at[key] = where;
    } else {
      diagnostics_.error(where, pool.prefix() + key + " = \"" + value + "\" " + *why);
    }
  } else if (auto reason = ignored_pool_key(key)) {
    diagnostics_.warning(where, pool.prefix() + key + " is ignored: " + std::string(*reason));
  } else if (global_keys().count(key) != 0 || ignored_global_key(key)) {
    diagnostics_.warning(where, pool.prefix() + key + " is a [global] setting and has no " +
                                    "effect in a pool section; move it under [global]");
  } else {
    diagnostics_.warning(where, pool.prefix() + "unknown key '" + key + "' is ignored");
  }
}

void ConfigBuilder::apply_pool_array(PoolDraft& pool, const std::string& key, std::string_view base,
                                     const std::string& index, const std::string& value,
                                     const Location& where) {
  if (base == "env") {
    apply_env(pool, index, value, where);
  } else if (is_php_ini_array(base) && index.rfind("session.", 0) == 0) {
    apply_session_setting(pool, std::string_view(index).substr(8), key, value, where, diagnostics_);
  } else if (is_php_ini_array(base) && index == "memcached.sess_prefix") {
    // php-memcached's own names for what cppfpm calls session.key_prefix / session.lock.
    apply_session_setting(pool, "key_prefix", key, value, where, diagnostics_);
  } else if (is_php_ini_array(base) && index == "memcached.sess_locking") {
    apply_session_setting(pool, "lock", key, value, where, diagnostics_);
  } else if (is_php_ini_array(base)) {
    diagnostics_.warning(where, pool.prefix() + key +
                                    " is ignored: PHP ini settings do not apply to compiled " +
                                    "handlers");
  } else if (base == "access.suppress_path" && index.empty()) {
    if (value.empty() || value.front() != '/') {
      diagnostics_.error(where, pool.prefix() + key + " = \"" + value +
                                    "\" must be a path starting with '/', e.g. /ping");
    } else {
      pool.config.access_suppress_paths.push_back(value);
      pool.set_at[key] = where;
    }
  } else {
    diagnostics_.warning(where, pool.prefix() + "unknown key '" + key + "' is ignored");
  }
}

// php-fpm takes a value written `$NAME` from the master's environment.
void ConfigBuilder::apply_env(PoolDraft& pool, const std::string& name, const std::string& value,
                              const Location& where) {
  if (name.empty() || name.find('=') != std::string::npos) {
    diagnostics_.error(where, pool.prefix() + "env[" + name + "] needs a variable name " +
                                  "without '=', e.g. env[PATH]");
    return;
  }
  std::string resolved = value;
  if (value.size() > 1 && value.front() == '$') {
    std::optional<std::string> found = env_(value.substr(1));
    if (!found) {
      diagnostics_.warning(where, pool.prefix() + "env[" + name + "] = " + value + ": " +
                                      value.substr(1) + " is not set; using an empty value");
    }
    resolved = found.value_or("");
  }
  auto& env = pool.config.env;
  auto existing =
      std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
  if (existing != env.end()) {
    existing->second = resolved;
  } else {
    env.emplace_back(name, resolved);
  }
  pool.set_at["env[" + name + "]"] = where;
}

std::optional<Config> ConfigBuilder::finish(const Location& end_of_file) {
  if (pools_.empty()) {
    diagnostics_.error(end_of_file, "no pool defined; add at least one pool section, e.g. " +
                                        std::string("[www]"));
  }
  validate_pools(pools_, diagnostics_);
  if (!diagnostics_.errors.empty()) return std::nullopt;
  Config config;
  config.global = global_;
  for (PoolDraft& pool : pools_) {
    pool.config.log_limit = global_.log_limit;
    config.pools.push_back(std::move(pool.config));
  }
  return config;
}

}  // namespace cppfpm::pool
