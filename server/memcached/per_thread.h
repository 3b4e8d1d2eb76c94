#pragma once
// One T per thread of each process, for libmemcached handles: a
// memcached_st must not be shared between threads, and one made before
// fork() must not be used after it.
#include <sys/types.h>
#include <tbb/enumerable_thread_specific.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <utility>

namespace cppfpm::memcached {

// T says with ok() whether its setup worked. The holder makes a thread's T
// on first use, again when the last setup failed, and again in a child
// process: slots filled before fork() are inherited, and their T (holding
// memcached::Handle) must be replaced, not used; dropping it frees nothing
// of the parent's.
template <class T>
class PerThread {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;
  explicit PerThread(Factory make) : make_(std::move(make)) {}

  // This thread's T, or nullptr while it cannot be set up.
  T* local() {
    Slot& slot = slots_.local();
    const pid_t self = ::getpid();
    if (!slot.value || slot.owner != self || !slot.value->ok()) {
      slot.value = make_();
      slot.owner = self;
    }
    return slot.value && slot.value->ok() ? slot.value.get() : nullptr;
  }

 private:
  struct Slot {
    pid_t owner = 0;
    std::unique_ptr<T> value;
  };
  Factory make_;
  tbb::enumerable_thread_specific<Slot> slots_;
};

}  // namespace cppfpm::memcached
