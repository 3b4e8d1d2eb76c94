#pragma once
// Screens the head of a FastCGI request (BEGIN_REQUEST and the PARAMS
// stream) before libfcgi reads it. The event loop peeks at the bytes the
// kernel holds (recv MSG_PEEK) and hands the connection to a worker thread
// only once the whole head has arrived and is well formed, so:
//  - a worker never waits on a slow or idle client for the head;
//  - name/value lengths that do not fit the PARAMS stream never reach
//    libfcgi, whose ReadParams trusts them (CVE-2025-23016 and the int
//    overflow of nameLen + valueLen that its fix leaves open).
// Record layout: FastCGI 1.0 specification, section 3.3; name-value pairs:
// section 3.4.
#include <cstddef>
#include <string>
#include <vector>

namespace cppfpm::server {

enum class Verdict {
  complete,    // a whole, well-formed request head
  need_more,   // well formed so far, more bytes to come
  invalid,     // close the connection
  management,  // an FCGI_GET_VALUES record comes first: answer it, consume it
};

struct ScreenResult {
  Verdict verdict = Verdict::need_more;
  std::string reason;  // why the head is invalid
  // For a complete head: its SCRIPT_NAME, and whether the empty FCGI_STDIN
  // record that ends the request body is also already there.
  std::string script_name;
  bool stdin_complete = false;
  // For a complete head: enough to answer it without libfcgi (a 503 from
  // the loop): its request id, FCGI_KEEP_CONN, and its size in bytes up to
  // the end of FCGI_PARAMS (the empty FCGI_STDIN record follows when
  // stdin_complete).
  int request_id = 0;
  bool keep_conn = false;
  std::size_t head_bytes = 0;
  // For a management record: its size in bytes and the names asked for.
  std::size_t consumed = 0;
  std::vector<std::string> names;
};

// The FCGI_GET_VALUES_RESULT record answering `names` (section 4.1).
std::string get_values_result(const std::vector<std::string>& names, int max_conns, int max_reqs);

struct ScreenLimits {
  std::size_t max_head_bytes = 128 * 1024;  // BEGIN_REQUEST + all PARAMS records
};

ScreenResult screen_request_head(const unsigned char* data, std::size_t size,
                                 const ScreenLimits& limits = {});

}  // namespace cppfpm::server
