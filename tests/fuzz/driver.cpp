// Runs a libFuzzer-style target without libFuzzer: each file argument is
// replayed, then a fixed number of inputs mutated from built-in seeds and a
// deterministic PRNG are fed to the target. Under ctest this is a bounded,
// repeatable smoke fuzz; with clang, the same target links -fsanitize=fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Seeds the target offers (tests/fuzz/<target>_fuzz.cpp).
std::vector<std::string> fuzz_seeds();

int main(int argc, char** argv) {
  long iterations = 200000;
  if (const char* env = std::getenv("FUZZ_ITERATIONS")) iterations = std::atol(env);
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  }
  std::vector<std::string> seeds = fuzz_seeds();
  seeds.emplace_back();
  std::mt19937_64 rng(20261125);
  for (long n = 0; n < iterations; ++n) {
    std::string input = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 5) {
        case 0:  // flip a byte
          if (!input.empty()) input[rng() % input.size()] = static_cast<char>(rng());
          break;
        case 1:  // truncate
          if (!input.empty()) input.resize(rng() % input.size());
          break;
        case 2:  // insert random bytes
          input.insert(input.empty() ? 0 : rng() % input.size(),
                       std::string(1 + rng() % 8, static_cast<char>(rng())));
          break;
        case 3:  // duplicate a slice
          if (input.size() > 2) {
            std::size_t a = rng() % input.size();
            input.insert(rng() % input.size(), input.substr(a, rng() % (input.size() - a)));
          }
          break;
        default:  // splice another seed
          input += seeds[rng() % seeds.size()];
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  }
  std::printf("fuzzed %ld inputs without a crash\n", iterations);
  return 0;
}
