// /queryCache.php?id=N: one row of the demo table (deploy/sql/) read
// through the query cache; X-Cache says whether memcached had it (HIT),
// MariaDB was asked (MISS) or memcached could not be reached (BYPASS).
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "handlers/query_cache.h"
#include "server/text/html.h"
#include "server/text/query_string.h"

namespace cppfpm::handlers {
namespace {

constexpr std::uint64_t kMaxId = 4294967295;  // the column is INT UNSIGNED
// SOCI hands DECIMAL over as a double; as text the price keeps its cents.
constexpr const char* kItemQuery =
    "SELECT id, name, CAST(price AS CHAR) AS price, stock FROM cppfpm_demo.items WHERE id = :id";

// Decimal digits only (leading zeros allowed), 1..kMaxId.
std::optional<std::uint64_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t id = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id < 1 || id > kMaxId)
    return std::nullopt;
  return id;
}

void bad_request(server::Response& response, std::string_view why) {
  response.status = 400;
  response.write(
      "<h1>400 Bad Request</h1><p>" + text::html_escape(why, text::Quotes::both) +
      ": id must be a whole number from 1 to 4294967295, as in /queryCache.php?id=1</p>");
}

}  // namespace

void query_cache(const server::Request& request, server::Response& response, Context& ctx) {
  // $_GET['id']: the last id= wins, and id[]= is no id.
  auto given = text::parse_query_string(request.query_string()).string_at("id");
  if (!given) return bad_request(response, "no id given");
  auto id = parse_id(*given);
  if (!id) return bad_request(response, "bad id");

  sql::CachedResult item;
  try {
    item = ctx.cache.query(kItemQuery, {static_cast<std::int64_t>(*id)}, {}, {"items"});
  } catch (const sql::Unavailable&) {
    // The pool logged the outage once; every request need not.
    response.status = 503;
    response.write("<h1>503 Service Unavailable</h1><p>The database is unreachable and item " +
                   std::to_string(*id) + " is not in the cache; try again shortly.</p>");
    return;
  } catch (const sql::QueryError& e) {
    spdlog::error("queryCache: the item query failed: {}", e.what());
    response.status = 500;
    response.write("<h1>500 Internal Server Error</h1>");
    return;
  }
  response.add_header("X-Cache", sql::cache_status_name(item.status));
  if (item.result.rows.empty()) {
    response.status = 404;
    response.write("<h1>404 Not Found</h1><p>No item with id " + std::to_string(*id) + ".</p>");
    return;
  }
  const sql::Row& row = item.result.rows.front();
  std::string body = "<table>";
  for (std::size_t i = 0; i < item.result.columns.size() && i < row.size(); ++i) {
    body += "<tr><th>" + text::html_escape(item.result.columns[i], text::Quotes::both) +
            "</th><td>" +
            (row[i] ? text::html_escape(*row[i], text::Quotes::both) : std::string("NULL")) +
            "</td></tr>";
  }
  body += "</table>";
  response.write(body);
}

}  // namespace cppfpm::handlers
