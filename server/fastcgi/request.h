#pragma once
// A request as a handler sees it: the FastCGI params and the stdin body,
// already read off the wire. Views stay valid for the request's lifetime.
#include <string>
#include <string_view>
#include <unordered_map>

namespace cppfpm::server {

class Request {
 public:
  Request() = default;
  Request(std::unordered_map<std::string, std::string> params, std::string body)
      : params_(std::move(params)), body_(std::move(body)) {}

  // A FastCGI param (CGI/1.1 meta-variable, RFC 3875 section 4.1), or "" when absent.
  std::string_view param(std::string_view name) const {
    auto it = params_.find(std::string(name));
    return it == params_.end() ? std::string_view{} : std::string_view(it->second);
  }
  bool has_param(std::string_view name) const { return params_.count(std::string(name)) != 0; }
  std::string_view script_name() const { return param("SCRIPT_NAME"); }
  std::string_view query_string() const { return param("QUERY_STRING"); }
  std::string_view method() const { return param("REQUEST_METHOD"); }
  std::string_view cookie_header() const { return param("HTTP_COOKIE"); }
  std::string_view body() const { return body_; }

  void set_param(std::string name, std::string value) {
    params_[std::move(name)] = std::move(value);
  }
  void set_body(std::string body) { body_ = std::move(body); }

 private:
  std::unordered_map<std::string, std::string> params_;
  std::string body_;
};

}  // namespace cppfpm::server
