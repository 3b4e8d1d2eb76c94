#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "server/fastcgi/socket_acl.h"

using namespace cppfpm::server;

namespace {

// One entry as linux/posix_acl_xattr.h lays it out, little-endian.
std::string entry(std::uint16_t tag, std::uint16_t perm, std::uint32_t id) {
  std::string out;
  for (int i = 0; i < 2; ++i) out += static_cast<char>((tag >> (8 * i)) & 0xff);
  for (int i = 0; i < 2; ++i) out += static_cast<char>((perm >> (8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) out += static_cast<char>((id >> (8 * i)) & 0xff);
  return out;
}

}  // namespace

TEST_CASE("socket acl: the kernel's attribute sorted and with a mask") {
  const std::uint32_t none = 0xffffffff;
  std::string want = std::string("\x02\0\0\0", 4) + entry(0x01, 6, none) + entry(0x02, 6, 33) +
                     entry(0x02, 6, 65534) + entry(0x04, 6, none) + entry(0x08, 6, 4) +
                     entry(0x10, 6, none) + entry(0x20, 0, none);
  // Unsorted and repeated on input, as a config may list them.
  CHECK(posix_acl_xattr(0660, {65534, 33, 33}, {4}) == want);
  // No named entry: no mask, the mode's three entries only.
  CHECK(posix_acl_xattr(0640, {}, {}) == std::string("\x02\0\0\0", 4) + entry(0x01, 6, none) +
                                             entry(0x04, 4, none) + entry(0x20, 0, none));
}

TEST_CASE("socket acl: set on a file, read back as written") {
  auto path = std::filesystem::temp_directory_path() / ("cppfpm-acl-" + std::to_string(::getpid()));
  std::ofstream(path).put('x');
  ::chmod(path.c_str(), 0660);
  std::string why = set_socket_acl(path.string(), 0660, {65534}, {4});
  if (!why.empty() && why.find("Operation not supported") != std::string::npos) {
    WARN("no POSIX ACLs on " << path.parent_path() << ": " << why);
    std::filesystem::remove(path);
    return;
  }
  CHECK(why.empty());
  char buf[256];
  ssize_t n = ::getxattr(path.c_str(), "system.posix_acl_access", buf, sizeof buf);
  std::filesystem::remove(path);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == posix_acl_xattr(0660, {65534}, {4}));
}
