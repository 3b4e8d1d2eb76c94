// `cppfpm -t -y FILE`: exit 0 on a good config; otherwise non-zero and
// `FILE:LINE: what is wrong` (DESIGN.md, "Command line").
#include <catch2/catch.hpp>

#include <algorithm>

#include "support/cppfpm.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;

namespace {

ConfigKeys good_pool() {
  return default_pool(9000, 11211, 3306);
}

// Writes a config whose line `line` (1-based) is `bad`, returns its path.
std::filesystem::path config_with_line(const TempDir& dir, int line, const std::string& bad) {
  std::string text = fpm_config(good_pool());
  std::size_t pos = 0;
  for (int i = 1; i < line; ++i) pos = text.find('\n', pos) + 1;
  text.insert(pos, bad + "\n");
  auto path = dir / "bad.conf";
  write_file(path, text);
  return path;
}

void expect_rejected(const std::filesystem::path& path, const TempDir& dir, int line,
                     const std::string& bad) {
  auto result = run_cppfpm({"-t", "-y", path.string()}, dir.path());
  INFO("line " << line << ": " << bad << "\noutput:\n" << result.output);
  CHECK(result.exit_code != 0);
  CHECK(result.exit_code != -1);  // answered, did not hang
  CHECK(result.exit_code < 128);  // exited, did not crash
  CHECK(result.output.find(path.string() + ":" + std::to_string(line)) != std::string::npos);
}

void expect_rejected_at(const std::string& bad, int line) {
  TempDir dir;
  expect_rejected(config_with_line(dir, line, bad), dir, line, bad);
}

// The good config with `key`'s value replaced by `value`.
void expect_bad_value(const std::string& key, const std::string& value) {
  TempDir dir;
  auto pool = good_pool();
  set_key(pool, key, value);
  std::string text = fpm_config(pool);
  auto at = text.find("\n" + key + " = ");
  REQUIRE(at != std::string::npos);
  int line =
      2 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  auto path = dir / "bad.conf";
  write_file(path, text);
  expect_rejected(path, dir, line, key + " = " + value);
}

}  // namespace

TEST_CASE("cppfpm -t accepts the config the tests run with", "[config]") {
  TempDir dir;
  auto path = dir / "good.conf";
  write_file(path, fpm_config(good_pool()));
  auto result = run_cppfpm({"-t", "-y", path.string()}, dir.path());
  INFO(result.output);
  CHECK(result.exit_code == 0);
}

TEST_CASE("cppfpm -t accepts the example deploy/cppfpm.conf", "[config][deploy]") {
  TempDir dir;
  auto path = std::filesystem::path(CPPFPM_SOURCE_DIR) / "deploy" / "cppfpm.conf";
  REQUIRE(std::filesystem::exists(path));
  auto result = run_cppfpm({"-t", "-y", path.string()}, dir.path());
  INFO(result.output);
  CHECK(result.exit_code == 0);
}

TEST_CASE("cppfpm -t names FILE:LINE of a line that is not ini", "[config]") {
  // Line 1 is a comment, 2 [global], 3 blank, 4 [www], 5 listen...
  expect_rejected_at("this line is neither a section nor key = value", 6);
  expect_rejected_at("[unterminated", 4);
}

TEST_CASE("cppfpm -t names FILE:LINE of a bad value", "[config]") {
  expect_bad_value("pm.max_children", "many");
  expect_bad_value("pm", "sometimes");
  expect_bad_value("pm.threads_per_child", "-3");
  expect_bad_value("sql.connect_timeout", "soon");
  expect_bad_value("listen", "127.0.0.1:99999");
}

TEST_CASE("cppfpm -t on a file that does not exist fails and names it", "[config]") {
  TempDir dir;
  auto path = dir / "missing.conf";
  auto result = run_cppfpm({"-t", "-y", path.string()}, dir.path());
  INFO(result.output);
  CHECK(result.exit_code != 0);
  CHECK(result.exit_code < 128);
  CHECK(result.output.find(path.string()) != std::string::npos);
}
