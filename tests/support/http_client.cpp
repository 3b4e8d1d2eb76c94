#include "support/http_client.h"

#include <stdexcept>

namespace cppfpm::test {

namespace {

// RFC 9112 section 7.1: chunk-size [ext] CRLF data CRLF ... 0 CRLF trailers CRLF.
std::optional<std::string> dechunk(std::string_view in) {
  std::string out;
  for (;;) {
    auto eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    try {
      size = std::stoul(std::string(in.substr(0, eol)), nullptr, 16);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return std::nullopt;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

HttpResponse parse_http(const std::string& raw) {
  HttpResponse response;
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return response;
  std::string_view head(raw.data(), end);
  auto eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  auto space = status_line.find(' ');
  if (space == std::string_view::npos) return response;
  response.status = std::stoi(std::string(status_line.substr(space + 1, 3)));
  head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string value(line.substr(colon + 1));
    value.erase(0, value.find_first_not_of(" \t"));
    response.headers.emplace_back(std::string(line.substr(0, colon)), value);
  }
  std::string body = raw.substr(end + 4);
  auto encoding = response.header("Transfer-Encoding");
  if (encoding && encoding->find("chunked") != std::string::npos) {
    auto plain = dechunk(body);
    if (!plain) throw std::runtime_error("http_get: bad chunked body: " + body);
    body = *plain;
  }
  response.body = std::move(body);
  return response;
}

}  // namespace

std::vector<std::string> HttpResponse::all(std::string_view name) const {
  std::vector<std::string> out;
  Headers one;
  for (const auto& h : headers) {
    one.assign(1, h);
    if (find_header(one, name)) out.push_back(h.second);
  }
  return out;
}

HttpResponse http_get(int port, std::string_view path, std::string_view cookie, Millis timeout) {
  Fd fd = connect_loopback(port);
  std::string request = "GET " + std::string(path) +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: cppfpm-tests\r\n"
                        "Connection: close\r\n";
  if (!cookie.empty()) request += "Cookie: " + std::string(cookie) + "\r\n";
  request += "\r\n";
  if (!send_all(fd.get(), request)) throw std::runtime_error("http_get: send failed");
  ReadStatus status;
  std::string raw = read_until_eof(fd.get(), timeout, &status);
  if (status == ReadStatus::timeout)
    throw std::runtime_error("http_get " + std::string(path) +
                             ": no complete answer in time: " + raw);
  return parse_http(raw);
}

void CookieJar::update(const HttpResponse& response) {
  for (const auto& line : response.all("Set-Cookie")) {
    auto pair = line.substr(0, line.find(';'));
    auto eq = pair.find('=');
    if (eq == std::string::npos) continue;
    cookies_[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
}

std::string CookieJar::header() const {
  std::string out;
  for (const auto& [name, value] : cookies_) {
    if (!out.empty()) out += "; ";
    out += name + "=" + value;
  }
  return out;
}

std::optional<std::string> CookieJar::get(const std::string& name) const {
  auto it = cookies_.find(name);
  if (it == cookies_.end()) return std::nullopt;
  return it->second;
}

HttpResponse http_get(int port, std::string_view path, CookieJar& jar, Millis timeout) {
  auto response = http_get(port, path, jar.header(), timeout);
  jar.update(response);
  return response;
}

}  // namespace cppfpm::test
