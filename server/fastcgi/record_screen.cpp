#include "server/fastcgi/record_screen.h"

#include <cstdint>
#include <string_view>

namespace cppfpm::server {
namespace {

// Record types, FastCGI specification section 8.
constexpr int kBeginRequest = 1;
constexpr int kAbortRequest = 2;
constexpr int kParams = 4;
constexpr int kStdin = 5;
constexpr int kGetValues = 9;
constexpr std::size_t kHeaderSize = 8;

ScreenResult complete() {
  ScreenResult r;
  r.verdict = Verdict::complete;
  return r;
}

ScreenResult invalid(std::string reason) {
  ScreenResult r;
  r.verdict = Verdict::invalid;
  r.reason = std::move(reason);
  return r;
}

// Reads a 1- or 4-byte length (section 3.4); false when it runs past `end`.
bool read_length(const std::string& s, std::size_t& i, std::uint32_t& out) {
  if (i >= s.size()) return false;
  auto b0 = static_cast<unsigned char>(s[i]);
  if ((b0 & 0x80) == 0) {
    out = b0;
    i += 1;
    return true;
  }
  if (s.size() - i < 4) return false;
  out = (static_cast<std::uint32_t>(b0 & 0x7f) << 24) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 1])) << 16) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 2])) << 8) |
        static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 3]));
  i += 4;
  return true;
}

ScreenResult check_pairs(const std::string& params) {
  ScreenResult ok = complete();
  std::size_t i = 0;
  while (i < params.size()) {
    std::uint32_t name_len = 0;
    std::uint32_t value_len = 0;
    if (!read_length(params, i, name_len) || !read_length(params, i, value_len))
      return invalid("truncated name-value pair length in FCGI_PARAMS");
    std::size_t left = params.size() - i;
    if (name_len > left || value_len > left - name_len)
      return invalid("FCGI_PARAMS name-value lengths (" + std::to_string(name_len) + ", " +
                     std::to_string(value_len) + ") exceed the stream");
    if (name_len == 0) return invalid("empty name in FCGI_PARAMS");
    if (std::string_view(params).substr(i, name_len) == "SCRIPT_NAME")
      ok.script_name = params.substr(i + name_len, value_len);
    i += name_len + value_len;
  }
  return ok;
}

void append_length(std::string& out, std::size_t n) {
  if (n < 128) {
    out += static_cast<char>(n);
    return;
  }
  out += static_cast<char>(0x80 | ((n >> 24) & 0x7f));
  out += static_cast<char>((n >> 16) & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  out += static_cast<char>(n & 0xff);
}

}  // namespace

std::string get_values_result(const std::vector<std::string>& names, int max_conns, int max_reqs) {
  std::string body;
  for (const auto& name : names) {
    std::string value;
    if (name == "FCGI_MAX_CONNS")
      value = std::to_string(max_conns);
    else if (name == "FCGI_MAX_REQS")
      value = std::to_string(max_reqs);
    else if (name == "FCGI_MPXS_CONNS")
      value = "0";
    else
      continue;  // unknown names are left out of the reply
    append_length(body, name.size());
    append_length(body, value.size());
    body += name;
    body += value;
  }
  if (body.size() > 65535) body.clear();
  std::string out;
  std::size_t padding = (8 - body.size() % 8) % 8;
  out += static_cast<char>(1);
  out += static_cast<char>(10);  // FCGI_GET_VALUES_RESULT
  out += '\0';
  out += '\0';
  out += static_cast<char>((body.size() >> 8) & 0xff);
  out += static_cast<char>(body.size() & 0xff);
  out += static_cast<char>(padding);
  out += '\0';
  out += body;
  out.append(padding, '\0');
  return out;
}

ScreenResult screen_request_head(const unsigned char* data, std::size_t size,
                                 const ScreenLimits& limits) {
  std::size_t pos = 0;
  int request_id = -1;
  bool keep_conn = false;
  std::string params;
  auto whole = [&](ScreenResult r) {
    r.request_id = request_id;
    r.keep_conn = keep_conn;
    r.head_bytes = pos;
    return r;
  };
  while (true) {
    if (pos >= limits.max_head_bytes)
      return invalid("request head exceeds " + std::to_string(limits.max_head_bytes) + " bytes");
    if (size - pos < kHeaderSize) return ScreenResult{};
    const unsigned char* h = data + pos;
    if (h[0] != 1) return invalid("FastCGI version " + std::to_string(h[0]) + ", expected 1");
    int type = h[1];
    int id = (h[2] << 8) | h[3];
    std::size_t content = (static_cast<std::size_t>(h[4]) << 8) | h[5];
    std::size_t record = kHeaderSize + content + h[6];
    if (pos + record > limits.max_head_bytes)
      return invalid("request head exceeds " + std::to_string(limits.max_head_bytes) + " bytes");
    if (size - pos < record) return ScreenResult{};
    const unsigned char* body = h + kHeaderSize;
    pos += record;

    if (id == 0) {
      // Management records (section 4): the loop answers FCGI_GET_VALUES
      // itself, so a client that only asks never occupies a worker.
      if (type != kGetValues)
        return invalid("record type " + std::to_string(type) + " for request id 0");
      if (request_id != -1) return invalid("FCGI_GET_VALUES inside a request");
      ScreenResult m;
      m.verdict = Verdict::management;
      m.consumed = record;
      std::string pairs(reinterpret_cast<const char*>(body), content);
      std::size_t i = 0;
      while (i < pairs.size()) {
        std::uint32_t name_len = 0, value_len = 0;
        if (!read_length(pairs, i, name_len) || !read_length(pairs, i, value_len) ||
            name_len > pairs.size() - i || value_len > pairs.size() - i - name_len)
          return invalid("malformed FCGI_GET_VALUES body");
        m.names.push_back(pairs.substr(i, name_len));
        i += name_len + value_len;
      }
      return m;
    }
    switch (type) {
      case kBeginRequest: {
        if (request_id != -1) return invalid("second FCGI_BEGIN_REQUEST on one connection");
        if (content != 8)
          return invalid("FCGI_BEGIN_REQUEST body of " + std::to_string(content) + " bytes");
        int role = (body[0] << 8) | body[1];
        if (role < 1 || role > 3) return invalid("unknown FastCGI role " + std::to_string(role));
        request_id = id;
        keep_conn = (body[2] & 1) != 0;  // FCGI_KEEP_CONN
        break;
      }
      case kParams:
        if (id != request_id) return invalid("FCGI_PARAMS for a request that was not begun");
        if (content == 0) {
          ScreenResult done = whole(check_pairs(params));
          // An empty FCGI_STDIN record right after: the request is whole.
          if (done.verdict == Verdict::complete && size - pos >= kHeaderSize) {
            const unsigned char* next = data + pos;
            done.stdin_complete = next[0] == 1 && next[1] == kStdin &&
                                  ((next[2] << 8) | next[3]) == request_id && next[4] == 0 &&
                                  next[5] == 0;
          }
          return done;
        }
        params.append(reinterpret_cast<const char*>(body), content);
        break;
      case kAbortRequest:
        if (id != request_id) return invalid("FCGI_ABORT_REQUEST for a request that was not begun");
        return whole(complete());  // libfcgi ends the request itself
      default:
        return invalid("unexpected record type " + std::to_string(type) +
                       " before the end of FCGI_PARAMS");
    }
  }
}

}  // namespace cppfpm::server
