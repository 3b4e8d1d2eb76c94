#include "server/fastcgi/response.h"

#include <strings.h>

#include <charconv>
#include <system_error>

namespace cppfpm::server {

bool Response::has_header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), key.size()) == 0)
      return true;
  }
  return false;
}

std::string Response::spare_string() {
  if (spare_.empty()) return std::string();
  std::string s = std::move(spare_.back());
  spare_.pop_back();
  return s;
}

void Response::add_header(std::string_view name, std::string_view value) {
  std::string n = spare_string();
  n.assign(name);
  std::string v = spare_string();
  v.assign(value);
  headers.emplace_back(std::move(n), std::move(v));
}

void Response::clear() {
  status = 200;
  // Reversed: the next page's first header gets back the strings of this
  // one's first header, which have the room it needs.
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    for (std::string* s : {&it->second, &it->first}) {
      if (s->capacity() > kKeepBytes || spare_.size() >= kMaxSpare) continue;
      s->clear();
      spare_.push_back(std::move(*s));
    }
  }
  headers.clear();
  body.clear();
  stderr_text.clear();
  if (body.capacity() > kKeepBytes) std::string().swap(body);
  if (stderr_text.capacity() > kKeepBytes) std::string().swap(stderr_text);
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
  append_cgi_head(response, out);
  out += response.body;
  return out;
}

void append_cgi_head(const Response& response, std::string& out) {
  // RFC 3875 section 6.3.3: a CGI response without Status means 200; PHP
  // only sends the header for other codes.
  if (response.status != 200 && !response.has_header("Status")) {
    char digits[16];
    auto [end, error] = std::to_chars(digits, digits + sizeof(digits), response.status);
    out += "Status: ";
    if (error == std::errc()) out.append(digits, end);
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
}

}  // namespace cppfpm::server
