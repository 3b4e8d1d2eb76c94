#pragma once
// A response in CGI form (RFC 3875 section 6): a status, headers in the order
// they were added, and a body. The server serialises it onto FCGI_STDOUT.
// A worker thread reuses one Response for all its requests: clear() keeps
// the buffers, and the strings of the headers it drops are given to the
// next add_header()s, so a page that sets the same headers every time
// allocates nothing for them once warm.
#include <cstddef>
#include <string>
#include <string_view>
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

  void add_header(std::string_view name, std::string_view value);
  void write(std::string_view text) { body.append(text); }
  bool has_header(std::string_view name) const;

  // Back to a fresh 200 with no headers and no body, keeping the buffers
  // (each up to kKeepBytes: a big page's memory goes back).
  void clear();
  static constexpr std::size_t kKeepBytes = 64 * 1024;
  static constexpr std::size_t kMaxSpare = 64;

 private:
  std::string spare_string();
  std::vector<std::string> spare_;  // the strings of cleared headers, for reuse
};

// "404 Not Found" style reason phrase for the CGI Status header.
const char* reason_phrase(int status);

// The bytes written on FCGI_STDOUT: `Status:` (when not 200), the headers,
// a blank line, the body.
std::string to_cgi(const Response& response);
// The same without the body, appended to `out`: the exchange writes the
// head from a reused buffer and the body from where it is.
void append_cgi_head(const Response& response, std::string& out);

}  // namespace cppfpm::server
