#pragma once
// A directory that exists for one object's lifetime.
#include <filesystem>
#include <string>
#include <string_view>

namespace cppfpm::test {

class TempDir {
 public:
  // Creates a fresh directory named `<prefix>XXXXXX` under `parent`
  // (default: $TMPDIR or /tmp).
  explicit TempDir(std::string_view prefix = "cppfpm-test-",
                   const std::filesystem::path& parent = {});
  TempDir(TempDir&&) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Removes the tree unless CPPFPM_KEEP_TEST_DIRS is set in the environment.
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Small file helpers that throw std::runtime_error naming the path.
void write_file(const std::filesystem::path& path, std::string_view content);
std::string read_file(const std::filesystem::path& path);

}  // namespace cppfpm::test
