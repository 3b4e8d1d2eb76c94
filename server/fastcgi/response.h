#pragma once
// A response in CGI form (RFC 3875 section 6): a status, headers in the order
// they were added, and a body. The server serialises it onto FCGI_STDOUT.
#include <string>
#include <utility>
#include <vector>

namespace cppfpm::server {

using Header = std::pair<std::string, std::string>;

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  // Sent as FCGI_STDERR records (FastCGI 1.0 section 5.3) before the
  // answer; nginx logs it as "FastCGI sent in stderr: ...".
  std::string stderr_text;

  void add_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  void write(std::string_view text) { body.append(text); }
  bool has_header(std::string_view name) const;
};

// "404 Not Found" style reason phrase for the CGI Status header.
const char* reason_phrase(int status);

// The bytes written on FCGI_STDOUT: `Status:` (when not 200), the headers,
// a blank line, the body.
std::string to_cgi(const Response& response);

}  // namespace cppfpm::server
