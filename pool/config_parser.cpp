#include "pool/config_parser.h"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "server/text/strings.h"

namespace cppfpm::pool {

namespace {

// An include chain this deep is a loop through different paths or a mistake.
constexpr std::size_t kMaxIncludeDepth = 16;

// The longest "key=value" (inline comment and blanks removed) a line may
// hold. php-fpm reads settings of any length (a long listen.allowed_clients
// or session.save_path list is common), so this only stops a broken file
// (a binary, a line with no newline) from being taken as a setting.
constexpr std::size_t kMaxSettingLength = 64 * 1024;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::optional<std::string> read_text_file(const std::string& path, std::string& why) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    why = "it is a directory";
    return std::nullopt;
  }
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[8192];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, got);
  if (std::ferror(file.get()) != 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  return text;
}

std::string canonical_name(const std::string& path) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

bool is_comment_start(char c) {
  return c == ';' || c == '#';
}

// One file read line by line: blank lines and comments skipped, section
// headers and settings checked and handed to the parser, every malformed
// line reported at its number.
struct FileReader {
  ConfigParser& parser;
  std::string_view text;
  std::string name;
  std::size_t pos = 0;
  int line = 0;

  Location here() const { return {name, line}; }

  bool next_line() {
    if (pos >= text.size()) return false;
    std::size_t newline = text.find('\n', pos);
    std::size_t stop = newline == std::string_view::npos ? text.size() : newline;
    std::string_view raw = text.substr(pos, stop - pos);
    pos = newline == std::string_view::npos ? text.size() : newline + 1;
    ++line;
    read(raw);
    return true;
  }

  void read(std::string_view raw) {
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (line == 1 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
    raw = text::trim(raw);
    if (raw.empty() || is_comment_start(raw.front())) return;
    if (raw.find('\0') != std::string_view::npos) return malformed("the line contains a NUL byte");
    if (raw.front() == '[') return section(raw);
    setting(raw);
  }

  void malformed(std::string message) { parser.diagnostics().error(here(), std::move(message)); }

  void section(std::string_view raw) {
    std::size_t close = raw.find(']');
    if (close == std::string_view::npos) {
      return malformed("unterminated section header " + std::string(raw) + "; add the closing ']'");
    }
    std::string_view rest = text::trim(raw.substr(close + 1));
    if (!rest.empty() && rest.front() != ';') {
      return malformed("unexpected text '" + std::string(rest) + "' after section header " +
                       std::string(raw.substr(0, close + 1)));
    }
    std::string_view name = text::trim(raw.substr(1, close - 1));
    if (name.empty()) return malformed("empty section name []; name the pool, e.g. [www]");
    parser.on_section_line(name, here());
  }

  void setting(std::string_view raw) {
    std::size_t equals = raw.find('=');
    if (equals == std::string_view::npos) {
      return malformed("expected 'name = value' or '[section]', found '" + std::string(raw) + "'");
    }
    std::string_view key = text::trim(raw.substr(0, equals));
    if (key.empty()) return malformed("missing setting name before '='");
    if (key.find_first_of(":;\"' \t") != std::string_view::npos) {
      return malformed("malformed setting name '" + std::string(key) + "'");
    }
    std::string_view value = raw.substr(equals + 1);
    ValueExtent extent = find_value_extent(value);
    if (extent.unterminated_quote) {
      return malformed(std::string(key) + " = " + std::string(text::trim(value)) +
                       " has an unterminated quoted string; add the closing quote");
    }
    value = text::trim(value.substr(0, extent.end));
    if (const std::size_t length = key.size() + 1 + value.size(); length > kMaxSettingLength) {
      return malformed("the line is too long (" + std::to_string(length) +
                       " characters without its comment; the limit is " +
                       std::to_string(kMaxSettingLength) + ")");
    }
    parser.on_setting_line(key, value, here());
  }
};

struct GlobFree {
  void operator()(glob_t* g) const { globfree(g); }
};

// glob(3)'s error callback takes no user pointer; a load runs on one
// thread, so one slot per thread is enough.
struct GlobFailure {
  std::string path;
  int error = 0;
};
thread_local GlobFailure glob_failure;

// A missing directory just matches nothing, as a missing file does; any
// other unreadable directory is worth an error.
int on_glob_error(const char* path, int error) {
  if (error != ENOENT && error != ENOTDIR && glob_failure.error == 0) {
    glob_failure = {path, error};
  }
  return 0;
}

}  // namespace

void Diagnostics::error(const Location& where, std::string message) {
  errors.push_back({where.file, where.line, std::move(message)});
}

void Diagnostics::warning(const Location& where, std::string message) {
  warnings.push_back({where.file, where.line, std::move(message)});
}

ConfigParser::ConfigParser(ConfigSink& sink, Diagnostics& diagnostics, EnvLookup env)
    : sink_(sink), diagnostics_(diagnostics), env_(std::move(env)) {}

bool ConfigParser::parse_file(const std::string& path) {
  std::string why;
  std::optional<std::string> text = read_text_file(path, why);
  if (!text) {
    diagnostics_.error({path, 0}, "cannot read the config file: " + why);
    return false;
  }
  parse_text(*text, path);
  return true;
}

void ConfigParser::parse_text(std::string_view text, const std::string& name) {
  top_level_lines_ = parse(text, name);
}

int ConfigParser::parse(std::string_view text, const std::string& name) {
  open_files_.push_back(canonical_name(name));
  FileReader reader{*this, text, name};
  while (reader.next_line()) {
  }
  open_files_.pop_back();
  return reader.line;
}

void ConfigParser::on_section_line(std::string_view name, const Location& where) {
  section_ = std::string(name);
  sink_.on_section(section_, where);
}

void ConfigParser::on_setting_line(std::string_view key, std::string_view value,
                                   const Location& where) {
  Parsed<std::string> decoded = decode_value(value, env_);
  if (!decoded.ok()) {
    diagnostics_.error(where, std::string(key) + " = " + std::string(value) + " " + decoded.error);
    return;
  }
  if (key == "include") {
    include(decoded.value, where);
    return;
  }
  sink_.on_setting(section_, std::string(key), decoded.value, where);
}

void ConfigParser::include(const std::string& pattern, const Location& where) {
  if (pattern.empty()) {
    diagnostics_.error(where, "include needs a file name or glob pattern");
    return;
  }
  // Relative patterns are taken from the including file's directory.
  std::filesystem::path full(pattern);
  if (full.is_relative()) full = std::filesystem::path(where.file).parent_path() / full;

  glob_t matches{};
  glob_failure = {};
  int rc = glob(full.c_str(), GLOB_MARK, on_glob_error, &matches);
  std::unique_ptr<glob_t, GlobFree> cleanup(&matches);
  if (glob_failure.error != 0) {
    diagnostics_.error(where, "include = " + pattern + ": cannot read directory " +
                                  glob_failure.path + ": " + std::strerror(glob_failure.error));
    return;
  }
  if (rc == GLOB_NOMATCH) {
    diagnostics_.warning(where, "include = " + pattern + " matches no file");
    return;
  }
  if (rc != 0) {
    diagnostics_.error(where, "include = " + pattern + ": glob() failed (out of memory)");
    return;
  }
  for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
    std::string path = matches.gl_pathv[i];
    if (!path.empty() && path.back() == '/') continue;  // GLOB_MARK marks directories
    include_file(path, where);
  }
}

void ConfigParser::include_file(const std::string& path, const Location& where) {
  std::string canonical = canonical_name(path);
  if (std::find(open_files_.begin(), open_files_.end(), canonical) != open_files_.end()) {
    diagnostics_.error(where, "include loop: " + path + " is already being read");
    return;
  }
  if (open_files_.size() >= kMaxIncludeDepth) {
    diagnostics_.error(where, "includes nested more than " + std::to_string(kMaxIncludeDepth) +
                                  " files deep at " + path);
    return;
  }
  std::string why;
  std::optional<std::string> text = read_text_file(path, why);
  if (!text) {
    diagnostics_.error(where, "cannot read included file " + path + ": " + why);
    return;
  }
  // The included file starts in the includer's section, as in php-fpm, and
  // the includer goes on in its own section afterwards.
  std::string includer_section = section_;
  parse(*text, path);
  section_ = includer_section;
}

}  // namespace cppfpm::pool
