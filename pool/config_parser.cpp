#include "pool/config_parser.h"

#include <glob.h>
#include <ini.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "server/text/strings.h"

namespace cppfpm::pool {

namespace {

// An include chain this deep is a loop through different paths or a mistake.
constexpr std::size_t kMaxIncludeDepth = 16;

// Debian's inih exposes its options as process-wide variables. php-fpm's
// syntax needs inline comments off (find_value_extent strips them knowing
// about quotes) and continuation lines off (indentation means nothing in
// php-fpm files). Loads are serialised so the swap is safe.
class InihOptions {
 public:
  InihOptions() : lock_(mutex()) {
    saved_inline_ = ini_allow_inline_comments;
    saved_multiline_ = ini_allow_multiline;
    saved_stop_ = ini_stop_on_first_error;
    ini_allow_inline_comments = false;
    ini_allow_multiline = false;
    ini_stop_on_first_error = false;
  }
  ~InihOptions() {
    ini_allow_inline_comments = saved_inline_;
    ini_allow_multiline = saved_multiline_;
    ini_stop_on_first_error = saved_stop_;
  }
  InihOptions(const InihOptions&) = delete;
  InihOptions& operator=(const InihOptions&) = delete;

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  std::lock_guard<std::mutex> lock_;
  bool saved_inline_, saved_multiline_, saved_stop_;
};

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

// The state of one file being fed to inih line by line.
struct FileReader {
  ConfigParser& parser;
  std::string_view text;
  std::string name;
  std::size_t pos = 0;
  int line = 0;

  Location here() const { return {name, line}; }

  // Checks one physical line and returns what inih should see: "" for
  // nothing (blank, comment, section header, or a line already reported as
  // malformed), else a clean "key=value" with the inline comment removed.
  std::string digest(std::string_view raw) {
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (line == 1 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
    raw = text::trim(raw);
    if (raw.empty() || is_comment_start(raw.front())) return {};
    if (raw.find('\0') != std::string_view::npos) {
      return malformed("the line contains a NUL byte");
    }
    if (raw.front() == '[') return section(raw);
    return setting(raw);
  }

  std::string malformed(std::string message) {
    parser.diagnostics().error(here(), std::move(message));
    return {};
  }

  std::string section(std::string_view raw) {
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
    return {};
  }

  std::string setting(std::string_view raw) {
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
    std::string out;
    out.reserve(key.size() + 1 + value.size());
    out.append(key).append("=").append(value);
    return out;
  }
};

// inih's ini_reader: hands over one digested line per call, so inih's line
// count and ours stay equal.
char* read_line(char* buffer, int size, void* stream) {
  auto& reader = *static_cast<FileReader*>(stream);
  if (reader.pos >= reader.text.size()) return nullptr;
  std::size_t newline = reader.text.find('\n', reader.pos);
  std::size_t stop = newline == std::string_view::npos ? reader.text.size() : newline;
  std::string_view raw = reader.text.substr(reader.pos, stop - reader.pos);
  reader.pos = newline == std::string_view::npos ? reader.text.size() : newline + 1;
  ++reader.line;

  std::string line = reader.digest(raw);
  // `size` is inih's ini_max_line, fixed when the library was built; the
  // line and its "\n\0" must fit or inih would split it silently.
  if (line.size() + 2 > static_cast<std::size_t>(size)) {
    reader.malformed("the line is too long (" + std::to_string(line.size()) +
                     " characters without its comment; the limit is " + std::to_string(size - 2) +
                     ")");
    line.clear();
  }
  std::memcpy(buffer, line.data(), line.size());
  buffer[line.size()] = '\n';
  buffer[line.size() + 1] = '\0';
  return buffer;
}

// Sections are tracked by ConfigParser, not inih: an included file goes on
// in the includer's section, and inih does not report empty sections.
int on_ini_entry(void* user, const char* /*section*/, const char* key, const char* value) {
  auto& reader = *static_cast<FileReader*>(user);
  reader.parser.on_setting_line(key, value == nullptr ? "" : value, reader.here());
  return 1;
}

bool has_error_at(const Diagnostics& diagnostics, const Location& where) {
  return std::any_of(
      diagnostics.errors.begin(), diagnostics.errors.end(),
      [&](const Diagnostic& d) { return d.file == where.file && d.line == where.line; });
}

struct GlobFree {
  void operator()(glob_t* g) const { globfree(g); }
};

// glob(3)'s error callback takes no user pointer; loads are serialised
// (InihOptions), so one slot per thread is enough.
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
  InihOptions options;
  top_level_lines_ = parse(text, name);
}

int ConfigParser::parse(std::string_view text, const std::string& name) {
  open_files_.push_back(canonical_name(name));
  FileReader reader{*this, text, name};
  int result = ini_parse_stream(read_line, &reader, on_ini_entry, &reader);
  open_files_.pop_back();
  // Every malformed line is caught by FileReader first; this is a backstop.
  if (result > 0 && !has_error_at(diagnostics_, {name, result})) {
    diagnostics_.error({name, result}, "syntax error");
  } else if (result == -2) {
    diagnostics_.error({name, reader.line}, "out of memory while parsing");
  }
  return reader.line;
}

void ConfigParser::on_section_line(std::string_view name, const Location& where) {
  section_ = std::string(name);
  sink_.on_section(section_, where);
}

void ConfigParser::on_setting_line(const char* key, const char* value, const Location& where) {
  Parsed<std::string> decoded = decode_value(value, env_);
  if (!decoded.ok()) {
    diagnostics_.error(where, std::string(key) + " = " + value + " " + decoded.error);
    return;
  }
  if (std::strcmp(key, "include") == 0) {
    include(decoded.value, where);
    return;
  }
  sink_.on_setting(section_, key, decoded.value, where);
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
