// An LD_PRELOAD shim for tests/bench/mallocs: counts the calls to malloc,
// calloc, realloc, free, the aligned allocators and connect() of a process,
// into a small file per process (MALLOC_COUNT_DIR/<pid>) that is mapped
// shared, so a reader sees the counters of live processes at any moment.
// Allocations whose caller is libfcgi are also counted apart.
// Built by tests/bench/mallocs: cc -O2 -shared -fPIC -o malloc_count.so malloc_count.c
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void __libc_free(void*);
extern void* __libc_memalign(size_t, size_t);

// The layout of the file: the reader (tests/bench/mallocs) reads it as
// eight little-endian uint64.
struct counters {
  uint64_t malloc_calls;  // malloc + calloc + realloc(NULL, n) + the aligned ones
  uint64_t realloc_calls;
  uint64_t free_calls;  // free of a non-null pointer
  uint64_t connect_calls;
  uint64_t fcgi_allocs;  // of malloc_calls, those called from libfcgi
  uint64_t fcgi_frees;
  uint64_t bytes;  // bytes asked for
  uint64_t pid;
};

static struct counters* volatile g_counters;
static struct counters g_scratch;  // before the file is mapped, or without a dir
static volatile int g_mapping;
static uintptr_t g_fcgi_lo, g_fcgi_hi;
// MALLOC_COUNT_DIR as the process started: cppfpm's children clear their
// environment (clear_env) and still count.
static char g_dir[200];

// libfcgi's code: read from /proc/self/maps without allocating.
static void find_libfcgi(void) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[65536];
  size_t len = 0;
  for (;;) {
    ssize_t n = syscall(SYS_read, fd, buf + len, sizeof(buf) - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
    if (len == sizeof(buf) - 1) break;
  }
  syscall(SYS_close, fd);
  buf[len] = 0;
  for (char* line = buf; line && *line;) {
    char* end = strchr(line, '\n');
    if (end) *end = 0;
    if (strstr(line, "libfcgi.so") && strstr(line, " r-xp ")) {
      unsigned long lo = 0, hi = 0;
      char* p = line;
      while (*p && *p != '-') lo = lo * 16 + (unsigned long)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10), ++p;
      if (*p == '-') ++p;
      while (*p && *p != ' ') hi = hi * 16 + (unsigned long)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10), ++p;
      g_fcgi_lo = lo;
      g_fcgi_hi = hi;
    }
    line = end ? end + 1 : NULL;
  }
}

static void map_counters(void) {
  if (__sync_lock_test_and_set(&g_mapping, 1)) return;  // another thread maps it
  const char* dir = g_dir[0] ? g_dir : getenv("MALLOC_COUNT_DIR");
  if (dir && strlen(dir) < sizeof(g_dir)) {
    char path[256];
    int pid = (int)syscall(SYS_getpid);
    snprintf(path, sizeof(path), "%s/%d", dir, pid);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0 && syscall(SYS_ftruncate, fd, sizeof(struct counters)) == 0) {
      void* p = (void*)syscall(SYS_mmap, NULL, sizeof(struct counters), PROT_READ | PROT_WRITE,
                               MAP_SHARED, fd, 0);
      if (p != MAP_FAILED) {
        struct counters* c = (struct counters*)p;
        c->pid = (uint64_t)pid;
        find_libfcgi();
        g_counters = c;
      }
    }
    if (fd >= 0) syscall(SYS_close, fd);
  }
  if (!g_counters) g_counters = &g_scratch;
}

static inline struct counters* counters(void) {
  struct counters* c = g_counters;
  if (c) return c;
  map_counters();
  return g_counters ? g_counters : &g_scratch;
}

// A forked child counts into its own file.
static void after_fork(void) {
  g_counters = NULL;
  g_mapping = 0;
}

__attribute__((constructor)) static void init(void) {
  const char* dir = getenv("MALLOC_COUNT_DIR");
  if (dir && strlen(dir) < sizeof(g_dir)) memcpy(g_dir, dir, strlen(dir) + 1);
  pthread_atfork(NULL, NULL, after_fork);
}

static inline int from_fcgi(void* caller) {
  uintptr_t a = (uintptr_t)caller;
  return a >= g_fcgi_lo && a < g_fcgi_hi;
}

static inline void count_alloc(void* caller, size_t n) {
  struct counters* c = counters();
  __atomic_fetch_add(&c->malloc_calls, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&c->bytes, n, __ATOMIC_RELAXED);
  if (from_fcgi(caller)) __atomic_fetch_add(&c->fcgi_allocs, 1, __ATOMIC_RELAXED);
}

void* malloc(size_t n) {
  count_alloc(__builtin_return_address(0), n);
  return __libc_malloc(n);
}

void* calloc(size_t n, size_t size) {
  count_alloc(__builtin_return_address(0), n * size);
  return __libc_calloc(n, size);
}

void* realloc(void* p, size_t n) {
  if (p == NULL) {
    count_alloc(__builtin_return_address(0), n);
  } else {
    struct counters* c = counters();
    __atomic_fetch_add(&c->realloc_calls, 1, __ATOMIC_RELAXED);
  }
  return __libc_realloc(p, n);
}

void free(void* p) {
  if (p) {
    struct counters* c = counters();
    __atomic_fetch_add(&c->free_calls, 1, __ATOMIC_RELAXED);
    if (from_fcgi(__builtin_return_address(0)))
      __atomic_fetch_add(&c->fcgi_frees, 1, __ATOMIC_RELAXED);
  }
  __libc_free(p);
}

void* memalign(size_t align, size_t n) {
  count_alloc(__builtin_return_address(0), n);
  return __libc_memalign(align, n);
}

void* aligned_alloc(size_t align, size_t n) {
  count_alloc(__builtin_return_address(0), n);
  return __libc_memalign(align, n);
}

int posix_memalign(void** out, size_t align, size_t n) {
  count_alloc(__builtin_return_address(0), n);
  void* p = __libc_memalign(align, n);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}

int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  struct counters* c = counters();
  __atomic_fetch_add(&c->connect_calls, 1, __ATOMIC_RELAXED);
  return (int)syscall(SYS_connect, fd, addr, len);
}
