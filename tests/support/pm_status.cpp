// Reading the status page: its fields, its per-child blocks (?full), and
// waiting until it shows a request in flight.
#include <sstream>

#include "support/pm_server.h"

namespace cppfpm::test {

namespace {

// "name:   value" -> (name, value); false for other lines.
bool split_field(const std::string& line, std::string& name, std::string& value) {
  auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  name = line.substr(0, colon);
  value = line.substr(colon + 1);
  value.erase(0, value.find_first_not_of(' '));
  return true;
}

}  // namespace

std::map<std::string, std::string> parse_status_text(const std::string& body) {
  std::map<std::string, std::string> fields;
  std::istringstream in(body);
  std::string line, name, value;
  while (std::getline(in, line)) {
    if (line.rfind("****", 0) == 0) break;  // ?full: process blocks follow
    if (split_field(line, name, value)) fields.emplace(name, value);
  }
  return fields;
}

std::vector<std::map<std::string, std::string>> pm_status_processes(const std::string& body) {
  std::vector<std::map<std::string, std::string>> blocks;
  std::istringstream in(body);
  std::string line, name, value;
  bool in_blocks = false;
  while (std::getline(in, line)) {
    if (line.rfind("****", 0) == 0) {
      in_blocks = true;
      blocks.emplace_back();
      continue;
    }
    if (in_blocks && split_field(line, name, value)) blocks.back().emplace(name, value);
  }
  std::erase_if(blocks, [](const auto& b) { return b.empty(); });
  return blocks;
}

namespace {

// The children of a ?full page serving /__test/sleep now. An idle child's
// row shows its last request, finished, with its memory (0 while running).
int sleeping_children(const std::string& full_status) {
  int n = 0;
  for (auto& p : pm_status_processes(full_status))
    if (p["request URI"].find("/__test/sleep") != std::string::npos &&
        p["last request memory"] == "0")
      ++n;
  return n;
}

}  // namespace

bool wait_serving(const Endpoint& at, int children, Millis timeout) {
  return wait_until(
      [&] {
        try {
          return sleeping_children(pm_get(at, "/status", "full", 2s).body) >= children;
        } catch (const std::exception&) {
          return false;  // not connected this time: asked again
        }
      },
      timeout, 50ms);
}

bool wait_serving(PmServer& fpm, int children, Millis timeout) {
  return wait_serving(fpm.endpoint, children, timeout);
}

bool wait_serving(PmClient& kept, std::uint16_t& id, int children, Millis timeout) {
  return wait_until(
      [&] {
        auto r = kept.request(nginx_params("/status", {}, "full"), true, ++id, 2s);
        return sleeping_children(r.body) >= children;
      },
      timeout, 50ms);
}

}  // namespace cppfpm::test
