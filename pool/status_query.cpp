// Which form of the status page a request asks for, read from its query
// string as php-fpm reads $_GET.
#include "pool/status.h"
#include "server/text/query_string.h"

namespace cppfpm::pool {

StatusQuery parse_status_query(std::string_view query_string) {
  using Format = StatusQuery::Format;
  // php-fpm asks whether $_GET has the key, whatever its value ("full[]=1" too).
  const text::QueryValue get = text::parse_query_string(query_string);
  const bool html = get.find("html"), xml = get.find("xml"), json = get.find("json"),
             openmetrics = get.find("openmetrics");
  StatusQuery q;
  q.full = get.find("full") != nullptr;
  // php-fpm's precedence when several are given.
  q.format = html          ? Format::html
             : xml         ? Format::xml
             : json        ? Format::json
             : openmetrics ? Format::openmetrics
                           : Format::text;
  return q;
}

}  // namespace cppfpm::pool
