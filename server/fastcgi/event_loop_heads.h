#pragma once
// The event loop's rules for connections whose request head has not
// arrived, kept apart from sockets so they are tested with a fake clock:
//
// - request_head_first_byte_timeout: a connection that has served no request
//   and sent nothing is closed that long after it was accepted. nginx sends
//   its request right after connecting; a kept connection that has already
//   served a request waits for the next one as long as nginx keeps it.
// - A head that has begun must be whole within head_timeout of its first
//   bytes (kept connections included).
// - pm.max_pending_heads: at most that many connections that have served no
//   request and whose head is not whole; past it the oldest is closed first,
//   so idle or trickling clients cannot take every descriptor of the child.
//
// And how the loop logs closing such connections: one line per kind per
// interval with a count, since under attack there is one per connection.
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cppfpm::server {

struct HeadRules {
  std::chrono::milliseconds first_byte_timeout{10000};  // 0: none
  std::chrono::milliseconds head_timeout{10000};
  std::size_t max_pending = 1000;  // 0: no cap
};

class HeadWatch {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Key = const void*;
  enum class Expiry { first_byte, head };
  struct Expired {
    Key key;
    Expiry why;
  };

  explicit HeadWatch(HeadRules rules) : rules_(rules) {}
  const HeadRules& rules() const { return rules_; }

  // A fresh connection was accepted: it counts in the cap and has until the
  // first-byte timeout to send something.
  void accepted(Key key, Time now);
  // Part of a head is in: its time to complete starts (once). `fresh` when
  // the connection has served no request; a kept one is watched from here.
  void partial(Key key, bool fresh, Time now);
  // Its head is whole, or it is closed: no longer watched.
  void done(Key key);

  // The connections to close so that the cap holds, oldest first.
  std::vector<Key> over_cap() const;
  // The `n` oldest connections the cap counts.
  std::vector<Key> oldest(std::size_t n) const;
  // The connections whose time is up at `now`.
  std::vector<Expired> expired(Time now) const;
  // How soon the earliest time is up; nullopt when nothing is watched.
  std::optional<std::chrono::milliseconds> next_deadline(Time now) const;

  std::size_t pending() const { return order_.size(); }  // counted by the cap
  std::size_t watched() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t seq;  // accept order, for "oldest first"
    bool fresh;
    bool head_started = false;
    std::optional<Time> deadline;
  };
  void set_deadline(Key key, Entry& entry, std::optional<Time> deadline);

  HeadRules rules_;
  std::uint64_t next_seq_ = 0;
  std::unordered_map<Key, Entry> entries_;
  std::set<std::pair<Time, Key>> deadlines_;
  std::set<std::pair<std::uint64_t, Key>> order_;  // fresh ones, oldest first
};

// One line per kind of event per interval: the first at once, the rest
// counted and summed up in one line when the interval is over
// ("... (and 7,900 more like it in the last 10 s)").
class CountedLog {
 public:
  using Time = std::chrono::steady_clock::time_point;
  explicit CountedLog(std::chrono::seconds interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // The lines to log now for an event of `kind` (none while it is counted).
  std::vector<std::string> event(int kind, std::string text, Time now);
  // The summary lines of intervals that are over at `now`.
  std::vector<std::string> flush(Time now);

 private:
  struct Kind {
    Time since;
    std::uint64_t more = 0;
    std::string last;
  };
  std::string summary(const Kind& k) const;

  std::chrono::seconds interval_;
  std::unordered_map<int, Kind> kinds_;
};

// 7900 -> "7,900".
std::string with_thousands(std::uint64_t n);

}  // namespace cppfpm::server
