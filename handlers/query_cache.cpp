// /queryCache.php?id=N: one row of the demo table (deploy/sql/) read
// through the query cache; X-Cache says whether memcached had it (HIT),
// MariaDB was asked (MISS) or memcached could not be reached (BYPASS).
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "handlers/query_cache.h"

namespace cppfpm::handlers {
namespace {

constexpr std::uint64_t kMaxId = 4294967295;  // the column is INT UNSIGNED
// SOCI hands DECIMAL over as a double; as text the price keeps its cents.
constexpr const char* kItemQuery =
    "SELECT id, name, CAST(price AS CHAR) AS price, stock FROM cppfpm_demo.items WHERE id = :id";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded, as PHP decodes $_GET values.
std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
               hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The last `id=` of the query string (PHP's $_GET keeps the last one).
std::optional<std::string> id_param(std::string_view query) {
  std::optional<std::string> found;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    std::string_view item = query.substr(pos, end - pos);
    if (item == "id" || item.starts_with("id="))
      found = url_decode(item.size() > 2 ? item.substr(3) : "");
    pos = end + 1;
  }
  return found;
}

// Decimal digits only (leading zeros allowed), 1..kMaxId.
std::optional<std::uint64_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t id = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id < 1 || id > kMaxId)
    return std::nullopt;
  return id;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#039;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void bad_request(server::Response& response, std::string_view why) {
  response.status = 400;
  response.write(
      "<h1>400 Bad Request</h1><p>" + html_escape(why) +
      ": id must be a whole number from 1 to 4294967295, as in /queryCache.php?id=1</p>");
}

}  // namespace

void query_cache(const server::Request& request, server::Response& response, Context& ctx) {
  auto text = id_param(request.query_string());
  if (!text) return bad_request(response, "no id given");
  auto id = parse_id(*text);
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
    body += "<tr><th>" + html_escape(item.result.columns[i]) + "</th><td>" +
            (row[i] ? html_escape(*row[i]) : std::string("NULL")) + "</td></tr>";
  }
  body += "</table>";
  response.write(body);
}

}  // namespace cppfpm::handlers
