#include "pool/config.h"

#include <functional>

#include "pool/config_builder.h"
#include "pool/config_parser.h"

namespace cppfpm::pool {

namespace {

LoadResult load(const std::string& path, const std::function<bool(ConfigParser&)>& parse,
                const PoolDefaults& defaults = {}) {
  Diagnostics diagnostics;
  EnvLookup env = process_environment();
  ConfigBuilder builder(diagnostics, env, defaults);
  ConfigParser parser(builder, diagnostics, env);
  LoadResult result;
  if (parse(parser)) {
    result.config = builder.finish({path, parser.top_level_lines()});
    if (result.config) result.config->path = path;
  }
  result.errors = std::move(diagnostics.errors);
  result.warnings = std::move(diagnostics.warnings);
  return result;
}

}  // namespace

std::string_view to_string(PmMode mode) {
  switch (mode) {
    case PmMode::static_:
      return "static";
    case PmMode::dynamic:
      return "dynamic";
    case PmMode::ondemand:
      return "ondemand";
  }
  return "?";
}

std::string Diagnostic::str() const {
  return file + ":" + std::to_string(line) + ": " + message;
}

int PoolConfig::effective_queue_per_child() const {
  return queue_per_child >= 0 ? queue_per_child : threads_per_child;
}

int PoolConfig::effective_sql_pool_size() const {
  return sql_pool_size > 0 ? sql_pool_size : threads_per_child;
}

const std::string& PoolConfig::effective_cache_servers() const {
  return cache_servers.empty() ? session_save_path : cache_servers;
}

LoadResult load_config(const std::string& path, const PoolDefaults& defaults) {
  return load(
      path, [&](ConfigParser& parser) { return parser.parse_file(path); }, defaults);
}

LoadResult load_config_string(std::string_view text, const std::string& name) {
  return load(name, [&](ConfigParser& parser) {
    parser.parse_text(text, name);
    return true;
  });
}

Config default_config() {
  Config config;
  PoolConfig& www = config.pools.emplace_back();
  www.name = "www";
  return config;
}

}  // namespace cppfpm::pool
