#include "handlers/router.h"

namespace cppfpm::handlers {

std::string Router::normalise(std::string_view script) {
  constexpr std::string_view kExt = ".php";
  if (script.size() > kExt.size() && script.substr(script.size() - kExt.size()) == kExt)
    script.remove_suffix(kExt.size());
  std::string out;
  if (script.empty() || script.front() != '/') out += '/';
  out.append(script);
  return out;
}

void Router::add(std::string script, Handler handler) {
  routes_[normalise(script)] = std::move(handler);
}

const Handler* Router::find(const server::Request& request) const {
  std::string_view script = request.script_name();
  // nginx sets SCRIPT_NAME from fastcgi_params; a bare client may only send
  // DOCUMENT_URI or REQUEST_URI.
  if (script.empty()) script = request.param("DOCUMENT_URI");
  if (script.empty()) {
    script = request.param("REQUEST_URI");
    if (auto q = script.find('?'); q != std::string_view::npos) script = script.substr(0, q);
  }
  auto it = routes_.find(normalise(script));
  return it == routes_.end() ? nullptr : &it->second;
}

void Router::not_found(server::Response& response) {
  response.status = 404;
  response.body = "File not found.\n";
  // php-fpm's words for a SCRIPT_FILENAME it cannot open; log watchers
  // (fail2ban) match them in nginx's "FastCGI sent in stderr" line.
  response.stderr_text = "Primary script unknown";
}

}  // namespace cppfpm::handlers
