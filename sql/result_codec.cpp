#include "sql/result_codec.h"

#include <cstdint>

namespace cppfpm::sql {
namespace {

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) return false;
      auto b = static_cast<unsigned char>(bytes_[pos_++]);
      v |= std::uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool text(std::uint64_t size, std::string& out) {
    if (size > bytes_.size() - pos_) return false;
    out.assign(bytes_.substr(pos_, size));
    pos_ += size;
    return true;
  }
  std::size_t left() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string encode_result(const ResultSet& result) {
  std::string out;
  out += static_cast<char>(kResultFormat);
  put_varint(out, result.columns.size());
  for (const auto& name : result.columns) {
    put_varint(out, name.size());
    out += name;
  }
  put_varint(out, result.rows.size());
  for (const Row& row : result.rows) {
    for (std::size_t i = 0; i < result.columns.size(); ++i) {
      const Cell& cell = i < row.size() ? row[i] : Cell{};
      if (!cell) {
        put_varint(out, 0);
        continue;
      }
      put_varint(out, cell->size() + 1);
      out += *cell;
    }
  }
  return out;
}

std::optional<ResultSet> decode_result(std::string_view bytes) {
  if (bytes.empty() || static_cast<unsigned char>(bytes[0]) != kResultFormat) return std::nullopt;
  Reader in(bytes.substr(1));
  ResultSet result;
  std::uint64_t columns = 0, rows = 0;
  // Every column and cell takes at least one byte: counts above what is
  // left are corrupt, and refusing them bounds what we allocate.
  if (!in.varint(columns) || columns > in.left()) return std::nullopt;
  result.columns.resize(columns);
  for (auto& name : result.columns) {
    std::uint64_t size = 0;
    if (!in.varint(size) || !in.text(size, name)) return std::nullopt;
  }
  if (!in.varint(rows) || (columns > 0 && rows > in.left() / columns) || (columns == 0 && rows > 0))
    return std::nullopt;
  result.rows.reserve(rows);
  for (std::uint64_t r = 0; r < rows; ++r) {
    Row row(columns);
    for (auto& cell : row) {
      std::uint64_t size = 0;
      if (!in.varint(size)) return std::nullopt;
      if (size == 0) continue;
      std::string value;
      if (!in.text(size - 1, value)) return std::nullopt;
      cell = std::move(value);
    }
    result.rows.push_back(std::move(row));
  }
  if (in.left() != 0) return std::nullopt;
  return result;
}

}  // namespace cppfpm::sql
