#pragma once
// `n` threads that start `body(i)` at the same moment (as close as threads
// allow), for tests that race requests against each other; returns once all
// have finished.
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace cppfpm::test {

inline void run_together(int n, const std::function<void(int)>& body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      body(i);
    });
  go = true;
  for (auto& t : threads) t.join();
}

}  // namespace cppfpm::test
