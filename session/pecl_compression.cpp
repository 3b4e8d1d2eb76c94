#include "session/pecl_compression.h"

#include <zlib.h>

#include <climits>

namespace cppfpm::session {

std::optional<std::string> pecl_uncompress(std::string_view stored, std::size_t limit) {
  if (stored.size() > UINT_MAX) return std::nullopt;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return std::nullopt;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored.data()));
  z.avail_in = static_cast<uInt>(stored.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof(chunk);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(chunk, sizeof(chunk) - z.avail_out);
    if (out.size() > limit) rc = Z_MEM_ERROR;
    // No progress with input left: a truncated stream.
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) rc = Z_DATA_ERROR;
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

std::optional<std::string> pecl_compress(std::string_view value, std::size_t threshold) {
  if (threshold == 0 || value.size() < threshold || value.size() > UINT_MAX) return std::nullopt;
  uLongf size = compressBound(static_cast<uLong>(value.size()));
  std::string out(size, '\0');
  if (compress(reinterpret_cast<Bytef*>(out.data()), &size,
               reinterpret_cast<const Bytef*>(value.data()),
               static_cast<uLong>(value.size())) != Z_OK)
    return std::nullopt;
  // memcache.compress_min_savings (0.2): otherwise PHP stores it plain too.
  if (static_cast<double>(size) > 0.8 * static_cast<double>(value.size())) return std::nullopt;
  out.resize(size);
  return out;
}

}  // namespace cppfpm::session
