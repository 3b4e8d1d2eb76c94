#include "server/build_info.h"

#include <zlib.h>

#include <oneapi/tbb/version.h>
#include <openssl/opensslv.h>
#include <soci/version.h>
#include <spdlog/version.h>
#include <CLI/Version.hpp>

namespace cppfpm::server {

void print_build_info(std::ostream& out, std::string_view version) {
  out << "cppfpm info()\n"
      << "cppfpm Version => " << version << "\n\n"
      << "Server API => FPM/FastCGI (compiled C++ pages)\n"
      << "Build Date => " << __DATE__ << " " << __TIME__ << "\n"
      << "Compiler => " << __VERSION__ << "\n"
      << "C++ Standard => " << __cplusplus << "\n"
#ifdef NDEBUG
      << "Debug Build => no\n"
#else
      << "Debug Build => yes\n"
#endif
#ifdef CPPFPM_TEST_PAGES
      << "Test Pages => built (served with CPPFPM_TEST_PAGES=1)\n"
#else
      << "Test Pages => not built\n"
#endif
      << "Configuration File => /etc/cppfpm/cppfpm.conf\n\n"
      << "Libraries\n"
      << "spdlog => " << SPDLOG_VER_MAJOR << "." << SPDLOG_VER_MINOR << "." << SPDLOG_VER_PATCH
      << "\n"
      << "CLI11 => " << CLI11_VERSION << "\n"
      << "oneTBB => " << TBB_VERSION_STRING << "\n"
      << "SOCI => " << SOCI_LIB_VERSION << "\n"
      << "zlib => " << ZLIB_VERSION << "\n"
      << "libcrypto => " << OPENSSL_VERSION_TEXT << "\n";
}

void print_pages(std::ostream& out, const std::vector<handlers::Route>& routes) {
  out << "[Compiled Pages]\n";
  for (const auto& route : routes) out << route.script << "\n";
  out << "\n";
}

}  // namespace cppfpm::server
