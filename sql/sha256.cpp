#include "sql/sha256.h"

#include <vector>

namespace cppfpm::sql {
namespace {

__extension__ typedef unsigned __int128 Wide;

// The largest r with r^k <= n (k = 2 or 3), by bisection.
std::uint64_t integer_root(Wide n, int k) {
  std::uint64_t lo = 0, hi = std::uint64_t{1} << 36;  // roots here stay below 2^35; 2^108 fits
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo + 1) / 2;
    Wide p = mid;
    for (int i = 1; i < k; ++i) p *= mid;
    if (p <= n)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

std::vector<std::uint32_t> first_primes(int count) {
  std::vector<std::uint32_t> primes;
  for (std::uint32_t n = 2; static_cast<int>(primes.size()) < count; ++n) {
    bool prime = true;
    for (std::uint32_t p : primes) prime = prime && n % p != 0;
    if (prime) primes.push_back(n);
  }
  return primes;
}

// FIPS 180-4 section 4.2.2 and 5.3.3: the first 32 bits of the fractional
// parts of the cube roots of the first 64 primes (K), and of the square
// roots of the first 8 (H0). Computed exactly rather than transcribed.
struct Constants {
  std::array<std::uint32_t, 64> k{};
  std::array<std::uint32_t, 8> h0{};
  Constants() {
    auto primes = first_primes(64);
    for (int i = 0; i < 64; ++i)
      k[i] = static_cast<std::uint32_t>(integer_root(Wide(primes[i]) << 96, 3));
    for (int i = 0; i < 8; ++i)
      h0[i] = static_cast<std::uint32_t>(integer_root(Wide(primes[i]) << 64, 2));
  }
};

const Constants& constants() {
  static const Constants c;
  return c;
}

std::uint32_t rotr(std::uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

void compress(std::array<std::uint32_t, 8>& h, const std::uint8_t* block) {
  const auto& k = constants().k;
  std::uint32_t w[64];
  for (int t = 0; t < 16; ++t)
    w[t] = std::uint32_t(block[4 * t]) << 24 | std::uint32_t(block[4 * t + 1]) << 16 |
           std::uint32_t(block[4 * t + 2]) << 8 | std::uint32_t(block[4 * t + 3]);
  for (int t = 16; t < 64; ++t) {
    std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 64; ++t) {
    std::uint32_t t1 =
        hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[t] + w[t];
    std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

}  // namespace

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint32_t, 8> h = constants().h0;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t full = data.size() / 64 * 64;
  for (std::size_t i = 0; i < full; i += 64) compress(h, bytes + i);
  // Section 5.1.1: a 1 bit, zeros, the bit length as 64 bits big-endian.
  std::uint8_t tail[128] = {};
  std::size_t rest = data.size() - full;
  for (std::size_t i = 0; i < rest; ++i) tail[i] = bytes[full + i];
  tail[rest] = 0x80;
  std::size_t tail_size = rest + 9 <= 64 ? 64 : 128;
  std::uint64_t bits = std::uint64_t(data.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_size - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  for (std::size_t i = 0; i < tail_size; i += 64) compress(h, tail + i);
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<std::uint8_t>(h[i] >> (24 - 8 * j));
  return out;
}

std::string sha256_hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : sha256(data)) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace cppfpm::sql
