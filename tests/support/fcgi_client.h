#pragma once
// A small FastCGI client written from the FastCGI 1.0 specification
// (Open Market, 1996): enough to act as nginx does, and to send records no
// well-behaved web server would.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/net.h"

namespace cppfpm::test {

namespace fcgi {

// Record types, spec section 8.
enum Type : std::uint8_t {
  begin_request = 1,
  abort_request = 2,
  end_request = 3,
  params = 4,
  stdin_stream = 5,
  stdout_stream = 6,
  stderr_stream = 7,
  data = 8,
  get_values = 9,
  get_values_result = 10,
  unknown_type = 11,
};
constexpr std::uint8_t version_1 = 1;
constexpr std::uint16_t role_responder = 1;
constexpr std::uint8_t flag_keep_conn = 1;
constexpr std::uint8_t request_complete = 0;  // END_REQUEST protocolStatus

struct Record {
  std::uint8_t version = 0;
  std::uint8_t type = 0;
  std::uint16_t request_id = 0;
  std::string content;
};

// The 8-byte header (section 3.3), any values, nothing checked.
std::string header(std::uint8_t version, std::uint8_t type, std::uint16_t request_id,
                   std::uint16_t content_length, std::uint8_t padding_length);
// A well-formed record, padded to a multiple of 8 bytes as nginx does.
std::string record(std::uint8_t type, std::uint16_t request_id, std::string_view content);
// FCGI_BeginRequestBody (section 5.1).
std::string begin_request_body(std::uint16_t role, std::uint8_t flags);
// A name-value pair (section 3.4): lengths below 128 in one byte, others in
// four with the high bit set.
std::string name_value(std::string_view name, std::string_view value);
// A length as section 3.4 encodes it, forced to the four-byte form when asked.
std::string encode_length(std::uint32_t length, bool four_bytes = false);
// A stream (PARAMS, STDIN): records of at most 65535 bytes, then the empty
// record that ends it.
std::string stream(std::uint8_t type, std::uint16_t request_id, std::string_view content);

}  // namespace fcgi

using Params = std::vector<std::pair<std::string, std::string>>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The first value of header `name` (case-insensitive), nullopt when absent.
std::optional<std::string> find_header(const Headers& headers, std::string_view name);

struct FcgiResponse {
  bool ended = false;  // END_REQUEST arrived
  std::uint32_t app_status = 0;
  int protocol_status = -1;
  std::string stdout_data;  // the CGI response as sent
  std::string stderr_data;
  int status = 0;   // from `Status:`, 200 when absent, 0 when unparsable
  Headers headers;  // CGI headers in order, `Status` included
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

// The params nginx sends for GET `script` with the seed's location block
// and /etc/nginx/fastcgi_params; HTTP_COOKIE only when `cookie` is given.
Params nginx_params(std::string_view script, std::string_view cookie = {},
                    std::string_view query = {});

class FcgiClient {
 public:
  // Connects to 127.0.0.1:port; throws when it cannot.
  explicit FcgiClient(int port);

  // One whole request on this connection: BEGIN_REQUEST (responder,
  // FCGI_KEEP_CONN when `keep_conn`), PARAMS, STDIN, then reads up to
  // END_REQUEST for `id` or until `timeout`.
  FcgiResponse request(const Params& params, std::string_view body = {}, bool keep_conn = false,
                       std::uint16_t id = 1, Millis timeout = 10s);
  // Writes the records of a request without waiting for the answer.
  bool send_request(const Params& params, std::string_view body, bool keep_conn, std::uint16_t id);
  // Reads records until END_REQUEST for `id`, EOF or `timeout`.
  FcgiResponse read_response(std::uint16_t id, Millis timeout = 10s);
  // The next record; nullopt on EOF, error or timeout (see last_status()).
  std::optional<fcgi::Record> read_record(Millis timeout);
  ReadStatus last_status() const { return last_status_; }

  bool send_raw(std::string_view bytes);
  // True when the server closes the connection within `timeout`.
  bool closed_by_server(Millis timeout);
  void close() { fd_.reset(); }
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
  std::string buffer_;
  ReadStatus last_status_ = ReadStatus::data;
};

// Splits a CGI response (RFC 3875 section 6) into status, headers, body.
void parse_cgi(FcgiResponse& response);

// Connects, sends one GET of `script` as nginx would, closes.
FcgiResponse fcgi_get(int port, std::string_view script, std::string_view cookie = {},
                      Millis timeout = 10s);

}  // namespace cppfpm::test
