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

// mariadb-connector-c's client errors (errmsg.h) that mean "this connection
// is gone", as opposed to "the server refused this statement".
bool connection_lost(const soci::mysql_soci_error& e) {
  switch (e.err_num_) {
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 1927:  // ER_CONNECTION_KILLED (server shutdown)
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1047:  // ER_UNKNOWN_COM_ERROR: a Galera node out of the primary component
      return true;
    default:
      return false;
  }
}

// Storage the use elements point at while the statement runs.
struct Bound {
  std::string text;
  long long integer = 0;
  double real = 0;
  soci::indicator ind = soci::i_ok;
};

void bind(soci::statement& st, const Params& params, std::vector<Bound>& bound) {
  bound.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    Bound& b = bound[i];
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            b.ind = soci::i_null;
            st.exchange(soci::use(b.text, b.ind));
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            b.integer = v;
            st.exchange(soci::use(b.integer));
          } else if constexpr (std::is_same_v<T, double>) {
            b.real = v;
            st.exchange(soci::use(b.real));
          } else {
            b.text = v;
            st.exchange(soci::use(b.text));
          }
        },
        params[i]);
  }
}

std::string cell_text(const soci::row& row, std::size_t i) {
  switch (row.get_properties(i).get_data_type()) {
    case soci::dt_string:
      return row.get<std::string>(i);
    case soci::dt_integer:
      return std::to_string(row.get<int>(i));
    case soci::dt_long_long:
      return std::to_string(row.get<long long>(i));
    case soci::dt_unsigned_long_long:
      return std::to_string(row.get<unsigned long long>(i));
    case soci::dt_double: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", row.get<double>(i));
      return buf;
    }
    case soci::dt_date: {
      std::tm t = row.get<std::tm>(i);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &t);
      return buf;
    }
    default:
      return row.get<std::string>(i);
  }
}

ResultSet run(soci::session& session, std::string_view sql, const Params& params) {
  soci::row row;
  std::vector<Bound> bound;
  soci::statement st(session);
  bind(st, params, bound);
  st.exchange(soci::into(row));
  st.alloc();
  st.prepare(std::string(sql));
  st.define_and_bind();
  ResultSet result;
  bool got = st.execute(true);
  if (got) {
    for (std::size_t i = 0; i < row.size(); ++i)
      result.columns.push_back(row.get_properties(i).get_name());
  }
  while (got) {
    Row out(row.size());
    for (std::size_t i = 0; i < row.size(); ++i)
      if (row.get_indicator(i) != soci::i_null) out[i] = cell_text(row, i);
    result.rows.push_back(std::move(out));
    got = st.fetch();
  }
  return result;
}

}  // namespace

ResultSet Database::query(std::string_view, const Params&) {
  throw Unavailable("this Database cannot run queries");
}

std::string mysql_connect_string(const DatabaseOptions& options) {
  std::string s = options.dsn;
  constexpr std::string_view kScheme = "mysql://";
  if (s.compare(0, kScheme.size(), kScheme) == 0) s.erase(0, kScheme.size());
  if (s.find("connect_timeout=") == std::string::npos)
    s += " connect_timeout=" + std::to_string(whole_seconds(options.connect_timeout));
  if (s.find("read_timeout=") == std::string::npos)
    s += " read_timeout=" + std::to_string(whole_seconds(options.read_timeout));
  if (s.find("write_timeout=") == std::string::npos)
    s += " write_timeout=" + std::to_string(whole_seconds(options.write_timeout));
  return s;
}

std::string redact_password(std::string_view text) {
  static const std::regex kPassword(R"((password|pass|pwd)\s*=\s*('[^']*'|\S+))",
                                    std::regex::icase);
  return std::regex_replace(std::string(text), kPassword, "$1=***");
}

PoolOptions pool_options(const DatabaseOptions& options) {
  PoolOptions o;
  o.connect_string = mysql_connect_string(options);
  o.dsn_for_logs = redact_password(options.dsn);
  o.size = options.pool_size;
  o.borrow_timeout = options.connect_timeout;
  o.idle_check = options.idle_check;
  if (!options.servers.empty()) {
    o.dsn_for_logs += "; sql.servers";
    for (const auto& server : options.servers) {
      std::string name = server.host + ":" + std::to_string(server.port);
      o.server_connect_strings.push_back(connect_string_for(o.connect_string, server));
      o.server_names.push_back(name);
      o.dsn_for_logs += (o.server_names.size() == 1 ? " " : ", ") + name;
    }
  }
  return o;
}

SociDatabase::SociDatabase(DatabaseOptions options)
    : options_(std::move(options)), pool_(pool_options(options_)) {}

SociDatabase::~SociDatabase() = default;

bool SociDatabase::ping() {
  try {
    auto lease = pool_.borrow();
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        int one = 0;
        lease.session() << "SELECT 1", soci::into(one);
        return one == 1;
      } catch (const std::exception& e) {
        if (attempt == 1) throw;
        spdlog::warn("MariaDB connection lost, reconnecting: {}", redact_password(e.what()));
        lease.reconnect();
      }
    }
  } catch (const std::exception&) {
    // Unavailable was logged once by the pool; a failed ping says the rest.
  }
  return false;
}

ResultSet SociDatabase::query(std::string_view sql, const Params& params) {
  auto lease = pool_.borrow();
  // A pooled connection may have died with a MariaDB restart since it was
  // last used: one retry on a fresh connection, then the error stands.
  for (int attempt = 0;; ++attempt) {
    try {
      return run(lease.session(), sql, params);
    } catch (const soci::mysql_soci_error& e) {
      if (!connection_lost(e)) throw QueryError(redact_password(e.what()));
      if (attempt == 1) {
        lease.discard();
        throw Unavailable("MariaDB connection lost: " + redact_password(e.what()));
      }
      spdlog::warn("MariaDB connection lost, reconnecting: {}", redact_password(e.what()));
      lease.reconnect();
    } catch (const Unavailable&) {
      throw;
    } catch (const std::exception& e) {
      throw QueryError(redact_password(e.what()));
    }
  }
}

}  // namespace cppfpm::sql
