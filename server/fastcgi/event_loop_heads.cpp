#include "server/fastcgi/event_loop_heads.h"

#include <algorithm>

namespace cppfpm::server {

void HeadWatch::set_deadline(Key key, Entry& entry, std::optional<Time> deadline) {
  if (entry.deadline) deadlines_.erase({*entry.deadline, key});
  entry.deadline = deadline;
  if (deadline) deadlines_.insert({*deadline, key});
}

void HeadWatch::accepted(Key key, Time now) {
  done(key);
  Entry& entry = entries_[key];
  entry = Entry{.seq = next_seq_++, .fresh = true, .head_started = false, .deadline = {}};
  order_.insert({entry.seq, key});
  if (rules_.first_byte_timeout.count() > 0)
    set_deadline(key, entry, now + rules_.first_byte_timeout);
}

void HeadWatch::partial(Key key, bool fresh, Time now) {
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    found =
        entries_
            .emplace(
                key,
                Entry{.seq = next_seq_++, .fresh = fresh, .head_started = false, .deadline = {}})
            .first;
    if (fresh) order_.insert({found->second.seq, key});
  }
  Entry& entry = found->second;
  if (entry.head_started) return;
  entry.head_started = true;
  set_deadline(key, entry, now + rules_.head_timeout);
}

void HeadWatch::done(Key key) {
  auto found = entries_.find(key);
  if (found == entries_.end()) return;
  set_deadline(key, found->second, std::nullopt);
  order_.erase({found->second.seq, key});
  entries_.erase(found);
}

std::vector<HeadWatch::Key> HeadWatch::over_cap() const {
  if (rules_.max_pending == 0 || order_.size() <= rules_.max_pending) return {};
  return oldest(order_.size() - rules_.max_pending);
}

std::vector<HeadWatch::Key> HeadWatch::oldest(std::size_t n) const {
  std::vector<Key> keys;
  for (auto it = order_.begin(); it != order_.end() && keys.size() < n; ++it)
    keys.push_back(it->second);
  return keys;
}

std::vector<HeadWatch::Expired> HeadWatch::expired(Time now) const {
  std::vector<Expired> due;
  for (const auto& [when, key] : deadlines_) {
    if (when > now) break;
    bool head = entries_.at(key).head_started;
    due.push_back({key, head ? Expiry::head : Expiry::first_byte});
  }
  return due;
}

std::optional<std::chrono::milliseconds> HeadWatch::next_deadline(Time now) const {
  if (deadlines_.empty()) return std::nullopt;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadlines_.begin()->first - now);
  return std::max(std::chrono::milliseconds(0), left);
}

std::string with_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string CountedLog::summary(const Kind& k) const {
  return k.last + " (and " + with_thousands(k.more) + " more like it in the last " +
         std::to_string(interval_.count()) + " s)";
}

std::vector<std::string> CountedLog::event(int kind, std::string text, Time now) {
  auto found = kinds_.find(kind);
  if (found == kinds_.end() || now - found->second.since >= interval_) {
    std::vector<std::string> lines;
    // An interval that ended with events not yet summed up is summed up first.
    if (found != kinds_.end() && found->second.more > 0) lines.push_back(summary(found->second));
    kinds_[kind] = Kind{now, 0, {}};
    lines.push_back(std::move(text));
    return lines;
  }
  ++found->second.more;
  found->second.last = std::move(text);
  return {};
}

std::vector<std::string> CountedLog::flush(Time now) {
  std::vector<std::string> lines;
  for (auto it = kinds_.begin(); it != kinds_.end();) {
    if (now - it->second.since < interval_) {
      ++it;
      continue;
    }
    if (it->second.more > 0) lines.push_back(summary(it->second));
    it = kinds_.erase(it);
  }
  return lines;
}

}  // namespace cppfpm::server
