// Fuzz target: php-fpm style config text through the whole loader
// (pool/config_parser, the value decoder, the typed builder, validation).
// A config file is trusted more than a request, but `cppfpm -t` is meant
// to report every malformed line, never crash on one; a config that loads
// must carry at least one pool. `include` lines are neutralised so the
// fuzzer cannot wander the filesystem through glob().
#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pool/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  if (size > 16384) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  for (std::size_t at = 0; (at = text.find("nclude", at)) != std::string::npos; ++at)
    text[at] = 'X';
  const auto result = cppfpm::pool::load_config_string(text, "fuzz.conf");
  if (result.config && result.config->pools.empty()) __builtin_trap();
  if (!result.config && result.errors.empty()) __builtin_trap();  // a refusal says why
  return 0;
}

std::vector<std::string> fuzz_seeds() {
  return {
      "[global]\nerror_log = /tmp/x.log\n[www]\nlisten = 127.0.0.1:9000\npm = static\n"
      "pm.max_children = 2\n",
      "[www]\nlisten=/run/x.sock\npm=dynamic\npm.max_children=5\npm.start_servers=2\n"
      "pm.min_spare_servers=1\npm.max_spare_servers=3\nrequest_terminate_timeout=30s\n",
      "[a]\nlisten = \"127.0.0.1:${PORT}\"\nphp_value[session.save_handler] = memcached\n"
      "php_admin_value[session.save_path] = \"127.0.0.1:11211\"\n",
      "; comment\n# comment\n[www]\nlisten = 9000 ; trailing\nuser = $pool\n"
      "env[PATH] = /usr/bin\npm.max_requests = 1k\n",
      "[www\nkey\n=value\n[]\n[global]\n[global]\npm = bogus\n",
      "[www]\nlisten = 127.0.0.1:9000\nrlimit_files = 99999999999999999999\n"
      "pm.status_path = /status\nslowlog = /dev/null\nrequest_slowlog_timeout = 1m\n",
  };
}
