#pragma once
// Reading php-fpm config files: physical lines, sections, `include=` and
// value syntax, each malformed line reported at FILE:LINE. What the settings mean is ConfigSink's
// job.
#include <string>
#include <string_view>
#include <vector>

#include "pool/config.h"
#include "pool/config_values.h"

namespace cppfpm::pool {

struct Location {
  std::string file;
  int line = 0;
};

struct Diagnostics {
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  void error(const Location& where, std::string message);
  void warning(const Location& where, std::string message);
};

class ConfigSink {
 public:
  virtual ~ConfigSink() = default;
  // A `[name]` header; "global" is the global section.
  virtual void on_section(const std::string& name, const Location& where) = 0;
  // A setting with its value unquoted and ${ENV} expanded. `section` is ""
  // before the first header.
  virtual void on_setting(const std::string& section, const std::string& key,
                          const std::string& value, const Location& where) = 0;
};

class ConfigParser {
 public:
  ConfigParser(ConfigSink& sink, Diagnostics& diagnostics, EnvLookup env);

  // Parses the top-level file; returns false when it cannot be read.
  bool parse_file(const std::string& path);
  void parse_text(std::string_view text, const std::string& name);

  // Lines in the top-level file, for findings about the file as a whole.
  int top_level_lines() const { return top_level_lines_; }

  // What each line of a file turns out to be.
  void on_section_line(std::string_view name, const Location& where);
  void on_setting_line(std::string_view key, std::string_view value, const Location& where);
  Diagnostics& diagnostics() { return diagnostics_; }

 private:
  int parse(std::string_view text, const std::string& name);
  void include(const std::string& pattern, const Location& where);
  void include_file(const std::string& path, const Location& where);

  ConfigSink& sink_;
  Diagnostics& diagnostics_;
  EnvLookup env_;
  std::string section_;
  std::vector<std::string> open_files_;  // the include chain, for loop detection
  int top_level_lines_ = 0;
};

}  // namespace cppfpm::pool
