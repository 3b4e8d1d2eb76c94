#pragma once
// A request as a handler sees it: the FastCGI params and the stdin body,
// already read off the wire. Views stay valid until the request is changed
// (set_param, add_param, set_body, clear) or destroyed.
//
// The params are kept in one byte buffer with an index beside it, looked up
// by a linear scan: a request has a few dozen params, and a worker thread
// reuses one Request for all its requests (clear() keeps the capacity), so
// reading a request allocates nothing once the buffers have grown.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cppfpm::server {

class Request {
 public:
  // A FastCGI param (CGI/1.1 meta-variable, RFC 3875 section 4.1), or "" when absent.
  std::string_view param(std::string_view name) const {
    const Entry* e = find(name);
    return e ? view(e->value_at, e->value_size) : std::string_view{};
  }
  bool has_param(std::string_view name) const { return find(name) != nullptr; }
  std::string_view script_name() const { return param("SCRIPT_NAME"); }
  std::string_view query_string() const { return param("QUERY_STRING"); }
  std::string_view method() const { return param("REQUEST_METHOD"); }
  std::string_view cookie_header() const { return param("HTTP_COOKIE"); }
  std::string_view body() const { return body_; }

  // Sets `name`, replacing its value when present.
  void set_param(std::string_view name, std::string_view value) {
    if (Entry* e = find(name)) {
      e->value_at = append(value);
      e->value_size = static_cast<std::uint32_t>(value.size());
      return;
    }
    add_param(name, value);
  }
  // Adds a param as read off the wire: when a name comes twice the first
  // one is seen (as a map filled by emplace would).
  void add_param(std::string_view name, std::string_view value) {
    Entry e{};
    e.name_at = append(name);
    e.name_size = static_cast<std::uint32_t>(name.size());
    e.value_at = append(value);
    e.value_size = static_cast<std::uint32_t>(value.size());
    index_.push_back(e);
  }
  void set_body(std::string body) { body_ = std::move(body); }
  // The body's buffer, for the exchange to fill in place.
  std::string& body_buffer() { return body_; }
  std::size_t param_count() const { return index_.size(); }

  // Empties the request and keeps its buffers' capacity, up to
  // `keep_bytes` each: a big request's memory goes back.
  void clear(std::size_t keep_bytes = kKeepBytes) {
    index_.clear();
    bytes_.clear();
    body_.clear();
    if (bytes_.capacity() > keep_bytes) std::string().swap(bytes_);
    if (body_.capacity() > keep_bytes) std::string().swap(body_);
  }

  static constexpr std::size_t kKeepBytes = 64 * 1024;

 private:
  struct Entry {
    std::uint32_t name_at, name_size, value_at, value_size;
  };

  std::string_view view(std::uint32_t at, std::uint32_t size) const {
    return std::string_view(bytes_.data() + at, size);
  }
  const Entry* find(std::string_view name) const {
    for (const Entry& e : index_)
      if (e.name_size == name.size() && view(e.name_at, e.name_size) == name) return &e;
    return nullptr;
  }
  Entry* find(std::string_view name) {
    return const_cast<Entry*>(static_cast<const Request*>(this)->find(name));
  }
  std::uint32_t append(std::string_view text) {
    auto at = static_cast<std::uint32_t>(bytes_.size());
    bytes_.append(text);
    return at;
  }

  std::string bytes_;         // every name and value, one after the other
  std::vector<Entry> index_;  // where each param's name and value are in bytes_
  std::string body_;
};

}  // namespace cppfpm::server
