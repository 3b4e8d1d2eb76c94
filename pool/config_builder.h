#pragma once
// Gives parsed settings their meaning: fills GlobalConfig and PoolConfig,
// warns about php-fpm keys cppfpm ignores, and runs php-fpm's cross-field
// checks at the end.
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pool/config.h"
#include "pool/config_parser.h"

namespace cppfpm::pool {

// A pool while its sections are being read.
struct PoolDraft {
  PoolConfig config;
  Location section;                                     // its first [name] header
  std::map<std::string, Location, std::less<>> set_at;  // key -> where it was last set
  bool files_handler_requested = false;                 // session.save_handler = files
  // php_value[session.save_handler] = memcached: the pool file was written
  // for php-memcached, whose key and lock layout cppfpm then adopts.
  bool php_memcached_handler = false;

  bool is_set(std::string_view key) const { return set_at.find(key) != set_at.end(); }
  // Where the first of `keys` that was set is, else the section header.
  Location where(std::initializer_list<std::string_view> keys) const;
  // "[pool www] " to start a message with.
  std::string prefix() const { return "[pool " + config.name + "] "; }
};

class ConfigBuilder final : public ConfigSink {
 public:
  // `defaults` are applied to each pool as it appears, located at "-d".
  ConfigBuilder(Diagnostics& diagnostics, EnvLookup env, PoolDefaults defaults = {});

  void on_section(const std::string& name, const Location& where) override;
  void on_setting(const std::string& section, const std::string& key, const std::string& value,
                  const Location& where) override;

  // Runs the cross-field checks; the config when nothing is wrong.
  // `end_of_file` locates a complaint about the file as a whole.
  std::optional<Config> finish(const Location& end_of_file);

 private:
  PoolDraft& pool_named(const std::string& name, const Location& where);
  void apply_global(const std::string& key, const std::string& value, const Location& where);
  void apply_pool(PoolDraft& pool, const std::string& key, const std::string& value,
                  const Location& where);
  void apply_pool_array(PoolDraft& pool, const std::string& key, std::string_view base,
                        const std::string& index, const std::string& value, const Location& where);
  void apply_env(PoolDraft& pool, const std::string& name, const std::string& value,
                 const Location& where);

  Diagnostics& diagnostics_;
  EnvLookup env_;
  PoolDefaults defaults_;
  GlobalConfig global_;
  std::vector<PoolDraft> pools_;
};

// Setting `session.<name>` however it was written (`session.X`,
// `php_value[session.X]`...); `written` is the key as in the file.
void apply_session_setting(PoolDraft& pool, std::string_view name, const std::string& written,
                           const std::string& value, const Location& where,
                           Diagnostics& diagnostics);

// The [pool] keys cppfpm honours: stores the value, or returns why not.
// nullopt when `key` is not one of them.
std::optional<std::string> set_pool_key(PoolConfig& pool, const std::string& key,
                                        const std::string& value);
bool honoured_pool_key(std::string_view key);
// php-fpm pool keys accepted with a warning: the reason, or nullopt.
std::optional<std::string_view> ignored_pool_key(std::string_view key);

// The names in the parser's tables of honoured keys, for whoever must cover
// each of them (the -tt dump and its test): [global] keys, [pool] keys, and
// the session settings, each without "session." (save_handler and
// save_path included).
std::vector<std::string_view> global_key_names();
std::vector<std::string_view> pool_key_names();
std::vector<std::string_view> session_key_names();

// A table of php-fpm keys cppfpm accepts but ignores, each with the reason
// its warning gives; lookup answers nullopt for a key not in it.
using IgnoredKeys = std::map<std::string_view, std::string_view, std::less<>>;
std::optional<std::string_view> lookup(const IgnoredKeys& table, std::string_view key);

// php-fpm's checks across settings (pm.* consistency and the like).
void validate_pools(std::vector<PoolDraft>& pools, Diagnostics& diagnostics);

}  // namespace cppfpm::pool
