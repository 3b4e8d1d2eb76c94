// Runs a libFuzzer-style target without libFuzzer: each file argument, and
// each file in a directory argument (a seed corpus, the regression inputs;
// a missing directory is skipped), is replayed, then a fixed number of inputs mutated from built-in
// seeds and a deterministic PRNG are fed to the target. Under ctest this is a bounded, repeatable
// smoke fuzz; with clang, the same target links -fsanitize=fuzzer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Seeds the target offers (tests/fuzz/<target>_fuzz.cpp).
std::vector<std::string> fuzz_seeds();

int main(int argc, char** argv) {
  // `--dump-seeds DIR` writes the built-in seeds as a seed corpus
  // (tests/fuzz/corpus/<target>/ was made this way) and exits.
  if (argc == 3 && std::string(argv[1]) == "--dump-seeds") {
    const std::vector<std::string> seeds = fuzz_seeds();
    std::filesystem::create_directories(argv[2]);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      std::ofstream out(std::filesystem::path(argv[2]) / ("seed-" + std::to_string(i)),
                        std::ios::binary);
      out << seeds[i];
    }
    return 0;
  }
  long iterations = 200000;
  if (const char* env = std::getenv("FUZZ_ITERATIONS")) iterations = std::atol(env);
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file()) files.push_back(entry.path());
    } else if (std::filesystem::exists(arg, error)) {
      files.push_back(arg);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  }
  std::printf("replayed %zu files\n", files.size());
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
