#include "sql/cache_key.h"

#include <openssl/evp.h>

#include <cstdio>
#include <stdexcept>

#include "server/text/strings.h"

namespace cppfpm::sql {
namespace {

using text::is_space;

bool is_plain_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 64) return false;
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void append_counted(std::string& out, std::string_view bytes) {
  out += std::to_string(bytes.size());
  out += ':';
  out += bytes;
}

}  // namespace

std::string normalise_sql(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  char quote = 0;
  bool pending_space = false;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote) {
      out += c;
      if (c == '\\' && quote != '`' && i + 1 < sql.size()) {
        out += sql[++i];  // MariaDB's backslash escape inside '...' and "..."
      } else if (c == quote) {
        quote = 0;  // a doubled quote reopens at once on the next character
      }
      continue;
    }
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    if (c == '\'' || c == '"' || c == '`') quote = c;
    out += c;
  }
  while (!quote && !out.empty() && (out.back() == ';' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string encode_params(const Params& params) {
  std::string out;
  for (const Param& p : params) {
    if (std::holds_alternative<std::nullptr_t>(p)) {
      out += 'N';
    } else if (auto* i = std::get_if<std::int64_t>(&p)) {
      out += 'I';
      append_counted(out, std::to_string(*i));
    } else if (auto* d = std::get_if<double>(&p)) {
      char buf[40];
      int n = std::snprintf(buf, sizeof buf, "%a", *d);  // exact: hex float
      out += 'D';
      append_counted(out, std::string_view(buf, static_cast<std::size_t>(n)));
    } else {
      out += 'S';
      append_counted(out, std::get<std::string>(p));
    }
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest(SHA-256) failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string query_key(std::string_view sql, const Params& params,
                      const TagGenerations& generations) {
  std::string material;
  append_counted(material, normalise_sql(sql));
  append_counted(material, encode_params(params));
  for (const auto& [tag, generation] : generations) {
    append_counted(material, tag);
    append_counted(material, generation);
  }
  return std::string(kQueryKeyPrefix) + sha256_hex(material);
}

std::string lock_key(std::string_view query_key) {
  return std::string(query_key) + ":lock";
}

std::string tag_key(std::string_view tag) {
  if (is_plain_tag(tag)) return std::string(kTagKeyPrefix) + std::string(tag);
  return std::string(kTagKeyPrefix) + "#" + sha256_hex(tag);
}

}  // namespace cppfpm::sql
