#include "support/fcgi_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>

namespace cppfpm::test {

namespace fcgi {

std::string header(std::uint8_t version, std::uint8_t type, std::uint16_t request_id,
                   std::uint16_t content_length, std::uint8_t padding_length) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(version);
  out[1] = static_cast<char>(type);
  out[2] = static_cast<char>(request_id >> 8);
  out[3] = static_cast<char>(request_id & 0xff);
  out[4] = static_cast<char>(content_length >> 8);
  out[5] = static_cast<char>(content_length & 0xff);
  out[6] = static_cast<char>(padding_length);
  return out;
}

std::string record(std::uint8_t type, std::uint16_t request_id, std::string_view content) {
  auto padding = static_cast<std::uint8_t>((8 - content.size() % 8) % 8);
  std::string out =
      header(version_1, type, request_id, static_cast<std::uint16_t>(content.size()), padding);
  out.append(content);
  out.append(padding, '\0');
  return out;
}

std::string begin_request_body(std::uint16_t role, std::uint8_t flags) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(role >> 8);
  out[1] = static_cast<char>(role & 0xff);
  out[2] = static_cast<char>(flags);
  return out;
}

std::string encode_length(std::uint32_t length, bool four_bytes) {
  if (length < 128 && !four_bytes) return std::string(1, static_cast<char>(length));
  std::string out(4, '\0');
  out[0] = static_cast<char>(((length >> 24) & 0x7f) | 0x80);
  out[1] = static_cast<char>((length >> 16) & 0xff);
  out[2] = static_cast<char>((length >> 8) & 0xff);
  out[3] = static_cast<char>(length & 0xff);
  return out;
}

std::string name_value(std::string_view name, std::string_view value) {
  std::string out = encode_length(static_cast<std::uint32_t>(name.size())) +
                    encode_length(static_cast<std::uint32_t>(value.size()));
  out.append(name);
  out.append(value);
  return out;
}

std::string stream(std::uint8_t type, std::uint16_t request_id, std::string_view content) {
  constexpr std::size_t max_chunk = 65535;
  std::string out;
  while (!content.empty()) {
    auto chunk = content.substr(0, max_chunk);
    out += record(type, request_id, chunk);
    content.remove_prefix(chunk.size());
  }
  out += record(type, request_id, {});
  return out;
}

}  // namespace fcgi

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  auto same = [&](const std::string& candidate) {
    return std::equal(candidate.begin(), candidate.end(), name.begin(), name.end(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  };
  for (const auto& [key, value] : headers)
    if (same(key)) return value;
  return std::nullopt;
}

Params nginx_params(std::string_view script, std::string_view cookie, std::string_view query) {
  std::string name(script), uri(script);
  if (!query.empty()) uri += "?" + std::string(query);
  Params params{
      {"SCRIPT_FILENAME", "/phpPages" + name},
      {"QUERY_STRING", std::string(query)},
      {"REQUEST_METHOD", "GET"},
      {"CONTENT_TYPE", ""},
      {"CONTENT_LENGTH", ""},
      {"SCRIPT_NAME", name},
      {"REQUEST_URI", uri},
      {"DOCUMENT_URI", name},
      {"DOCUMENT_ROOT", "/phpPages"},
      {"SERVER_PROTOCOL", "HTTP/1.1"},
      {"REQUEST_SCHEME", "http"},
      {"GATEWAY_INTERFACE", "CGI/1.1"},
      {"SERVER_SOFTWARE", "nginx/1.22.1"},
      {"REMOTE_ADDR", "127.0.0.1"},
      {"REMOTE_PORT", "54321"},
      {"SERVER_ADDR", "127.0.0.1"},
      {"SERVER_PORT", "8080"},
      {"SERVER_NAME", ""},
      {"REDIRECT_STATUS", "200"},
      {"HTTP_HOST", "127.0.0.1"},
  };
  if (!cookie.empty()) params.emplace_back("HTTP_COOKIE", std::string(cookie));
  return params;
}

FcgiClient::FcgiClient(int port) : fd_(connect_loopback(port)) {}

bool FcgiClient::send_request(const Params& params, std::string_view body, bool keep_conn,
                              std::uint16_t id) {
  std::string pairs;
  for (const auto& [name, value] : params) pairs += fcgi::name_value(name, value);
  std::string bytes = fcgi::record(
      fcgi::begin_request, id,
      fcgi::begin_request_body(fcgi::role_responder, keep_conn ? fcgi::flag_keep_conn : 0));
  bytes += fcgi::stream(fcgi::params, id, pairs);
  bytes += fcgi::stream(fcgi::stdin_stream, id, body);
  return send_raw(bytes);
}

FcgiResponse FcgiClient::request(const Params& params, std::string_view body, bool keep_conn,
                                 std::uint16_t id, Millis timeout) {
  if (!send_request(params, body, keep_conn, id)) return FcgiResponse{};
  return read_response(id, timeout);
}

std::optional<fcgi::Record> FcgiClient::read_record(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (buffer_.size() >= 8) {
      auto byte = [&](std::size_t i) { return static_cast<unsigned char>(buffer_[i]); };
      std::size_t length = (byte(4) << 8) | byte(5);
      std::size_t total = 8 + length + byte(6);
      if (buffer_.size() >= total) {
        fcgi::Record r{byte(0), byte(1), static_cast<std::uint16_t>((byte(2) << 8) | byte(3)),
                       buffer_.substr(8, length)};
        buffer_.erase(0, total);
        last_status_ = ReadStatus::data;
        return r;
      }
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    last_status_ = read_some(fd_.get(), buffer_, std::max(left, Millis(0)));
    if (last_status_ != ReadStatus::data) return std::nullopt;
  }
}

FcgiResponse FcgiClient::read_response(std::uint16_t id, Millis timeout) {
  FcgiResponse response;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!response.ended) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    auto r = read_record(std::max(left, Millis(0)));
    if (!r) break;
    if (r->request_id != id) continue;
    if (r->type == fcgi::stdout_stream) response.stdout_data += r->content;
    if (r->type == fcgi::stderr_stream) response.stderr_data += r->content;
    if (r->type == fcgi::end_request && r->content.size() >= 8) {
      auto b = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(r->content[i]));
      };
      response.app_status = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
      response.protocol_status = static_cast<int>(b(4));
      response.ended = true;
    }
  }
  parse_cgi(response);
  return response;
}

bool FcgiClient::send_raw(std::string_view bytes) {
  return send_all(fd_.get(), bytes);
}

bool FcgiClient::closed_by_server(Millis timeout) {
  return peer_closes_within(fd_.get(), timeout);
}

void parse_cgi(FcgiResponse& response) {
  const std::string& out = response.stdout_data;
  std::size_t pos = 0;
  response.headers.clear();
  for (;;) {
    auto eol = out.find('\n', pos);
    if (eol == std::string::npos) {  // no blank line: no valid CGI response
      response.status = 0;
      response.body.clear();
      return;
    }
    std::string line = out.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    response.headers.emplace_back(std::move(name), std::move(value));
  }
  response.body = out.substr(pos);
  response.status = 200;
  if (auto status = response.header("Status")) {
    try {
      response.status = std::stoi(*status);
    } catch (const std::exception&) {
      response.status = 0;
    }
  }
}

FcgiResponse fcgi_get(int port, std::string_view script, std::string_view cookie, Millis timeout) {
  FcgiClient client(port);
  return client.request(nginx_params(script, cookie), {}, false, 1, timeout);
}

}  // namespace cppfpm::test
