#include "sql/soci_database.h"

#include <soci/mysql/soci-mysql.h>
#include <soci/soci.h>

#include <regex>

#include <spdlog/spdlog.h>

namespace cppfpm::sql {
namespace {

long whole_seconds(std::chrono::milliseconds ms) {
  auto s = (ms.count() + 999) / 1000;
  return s < 1 ? 1 : s;
}

}  // namespace

std::string mysql_connect_string(const DatabaseOptions& options) {
  std::string s = options.dsn;
  constexpr std::string_view kScheme = "mysql://";
  if (s.compare(0, kScheme.size(), kScheme) == 0) s.erase(0, kScheme.size());
  if (s.find("connect_timeout=") == std::string::npos)
    s += " connect_timeout=" + std::to_string(whole_seconds(options.connect_timeout));
  if (s.find("read_timeout=") == std::string::npos)
    s += " read_timeout=" + std::to_string(whole_seconds(options.read_timeout));
  if (s.find("write_timeout=") == std::string::npos)
    s += " write_timeout=" + std::to_string(whole_seconds(options.read_timeout));
  return s;
}

std::string redact_password(std::string_view text) {
  static const std::regex kPassword(R"((password|pass|pwd)\s*=\s*('[^']*'|\S+))", std::regex::icase);
  return std::regex_replace(std::string(text), kPassword, "$1=***");
}

SociDatabase::SociDatabase(DatabaseOptions options)
    : options_(std::move(options)), connect_string_(mysql_connect_string(options_)) {}

SociDatabase::~SociDatabase() = default;

soci::session* SociDatabase::connect() {
  try {
    auto session = std::make_unique<soci::session>(*soci::factory_mysql(), connect_string_);
    auto& slot = sessions_.local();
    slot = std::move(session);
    if (down_.exchange(false)) spdlog::info("MariaDB reachable again");
    return slot.get();
  } catch (const std::exception& e) {
    if (!down_.exchange(true))
      spdlog::error("MariaDB connection failed ({}): {}", redact_password(options_.dsn),
                    redact_password(e.what()));
    return nullptr;
  }
}

bool SociDatabase::ping() {
  auto& slot = sessions_.local();
  for (int attempt = 0; attempt < 2; ++attempt) {
    soci::session* s = slot ? slot.get() : connect();
    if (!s) return false;
    try {
      int one = 0;
      *s << "SELECT 1", soci::into(one);
      return one == 1;
    } catch (const std::exception& e) {
      spdlog::warn("MariaDB connection lost, reconnecting: {}", redact_password(e.what()));
      slot.reset();
    }
  }
  return false;
}

}  // namespace cppfpm::sql
