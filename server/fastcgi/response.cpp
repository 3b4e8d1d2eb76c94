#include "server/fastcgi/response.h"

#include <strings.h>

namespace cppfpm::server {

bool Response::has_header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), key.size()) == 0)
      return true;
  }
  return false;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::string to_cgi(const Response& response) {
  std::string out;
  out.reserve(256 + response.body.size());
  // RFC 3875 section 6.3.3: a CGI response without Status means 200; PHP
  // only sends the header for other codes.
  if (response.status != 200 && !response.has_header("Status")) {
    out += "Status: ";
    out += std::to_string(response.status);
    out += ' ';
    out += reason_phrase(response.status);
    out += "\r\n";
  }
  for (const auto& [name, value] : response.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  // PHP adds its default_mimetype/default_charset last, when the page set none.
  if (!response.has_header("Content-type")) out += "Content-type: text/html; charset=UTF-8\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

}  // namespace cppfpm::server
