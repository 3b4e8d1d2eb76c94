#include "session/store_key.h"

namespace cppfpm::session {

bool is_valid_store_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxStoreKeyLength) return false;
  for (char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return false;
  }
  return true;
}

}  // namespace cppfpm::session
