#include "server/proc_title.h"

#include <unistd.h>

#include <cstring>

extern char** environ;

namespace cppfpm::server {
namespace {

char* g_area = nullptr;  // where argv[0] was
std::size_t g_size = 0;  // through the last contiguous argument or environment string
// Every copy, held here too: argv itself sits on the initial stack, above
// main's frame, where a leak checker does not look for roots, and unsetenv()
// drops entries from environ. Volatile: a store never read is kept.
char** volatile g_argv_copy = nullptr;
char** volatile g_env_copy = nullptr;

// A copy that lives as long as the process.
char* keep(const char* text) {
  std::size_t n = std::strlen(text) + 1;
  char* copy = new char[n];
  std::memcpy(copy, text, n);
  return copy;
}

}  // namespace

void init_proc_title(int argc, char** argv) {
  if (argc < 1 || argv[0] == nullptr || g_area != nullptr) return;
  char* end = argv[0];
  // The strings the kernel laid out one after the other: argv, then environ.
  for (int i = 0; i < argc; ++i)
    if (argv[i] == end) end = argv[i] + std::strlen(argv[i]) + 1;
  std::size_t env_count = 0;
  while (environ != nullptr && environ[env_count] != nullptr) ++env_count;
  for (std::size_t i = 0; i < env_count; ++i)
    if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
  auto** env_copy = new char*[env_count + 1];
  for (std::size_t i = 0; i < env_count; ++i) env_copy[i] = keep(environ[i]);
  env_copy[env_count] = nullptr;
  auto** kept_env = new char*[env_count + 1];
  std::memcpy(kept_env, env_copy, (env_count + 1) * sizeof(char*));
  g_env_copy = kept_env;
  environ = env_copy;
  g_area = argv[0];
  char** copies = new char*[static_cast<std::size_t>(argc)];
  for (int i = 0; i < argc; ++i) argv[i] = copies[i] = keep(argv[i]);
  g_argv_copy = copies;
  g_size = static_cast<std::size_t>(end - g_area);
}

void set_proc_title(const std::string& title) {
  if (g_area == nullptr || g_size < 2) return;
  std::size_t n = std::min(title.size(), g_size - 1);
  std::memcpy(g_area, title.data(), n);
  std::memset(g_area + n, 0, g_size - n);
}

}  // namespace cppfpm::server
