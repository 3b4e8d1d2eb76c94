#include "server/text/html.h"

namespace cppfpm::text {

std::string html_escape(std::string_view text, Quotes quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += quotes == Quotes::both ? "&#039;" : "'";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace cppfpm::text
