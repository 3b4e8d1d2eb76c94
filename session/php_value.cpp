#include "session/php_value.h"

#include <charconv>
#include <limits>
#include <utility>

namespace cppfpm::session {

PhpKey normalize_key(std::string_view key) {
  // The canonical decimal form: optional '-', then "0" or a digit string
  // without a leading zero; "-0" stays a string.
  std::string_view digits = key;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 19) return std::string(key);
  for (char c : digits) {
    if (c < '0' || c > '9') return std::string(key);
  }
  if (digits.front() == '0' && (digits.size() > 1 || negative)) return std::string(key);
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), value);
  if (error != std::errc() || end != key.data() + key.size()) return std::string(key);
  return value;
}

PhpArray::PhpArray() = default;
PhpArray::PhpArray(const PhpArray&) = default;
PhpArray::PhpArray(PhpArray&&) noexcept = default;
PhpArray& PhpArray::operator=(const PhpArray&) = default;
PhpArray& PhpArray::operator=(PhpArray&&) noexcept = default;
PhpArray::~PhpArray() = default;

std::size_t PhpArray::size() const {
  return entries_.size();
}
bool PhpArray::empty() const {
  return entries_.empty();
}

PhpArray::const_iterator PhpArray::begin() const {
  return entries_.begin();
}
PhpArray::const_iterator PhpArray::end() const {
  return entries_.end();
}

bool PhpArray::operator==(const PhpArray& other) const {
  return entries_ == other.entries_;
}

PhpValue* PhpArray::find_slot(const PhpKey& key) {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].value;
}

const PhpValue* PhpArray::find_key(const PhpKey& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].value;
}

const PhpValue* PhpArray::find(std::string_view key) const {
  return find_key(normalize_key(key));
}
PhpValue* PhpArray::find(std::string_view key) {
  return find_slot(normalize_key(key));
}
const PhpValue* PhpArray::find(std::int64_t key) const {
  return find_key(PhpKey(key));
}
PhpValue* PhpArray::find(std::int64_t key) {
  return find_slot(PhpKey(key));
}

void PhpArray::set(std::string_view key, PhpValue value) {
  set_key(normalize_key(key), std::move(value));
}

void PhpArray::set(std::int64_t key, PhpValue value) {
  set_key(PhpKey(key), std::move(value));
}

void PhpArray::set_key(PhpKey key, PhpValue value) {
  if (PhpValue* slot = find_slot(key)) {
    *slot = std::move(value);
    return;
  }
  if (const auto* number = std::get_if<std::int64_t>(&key)) {
    // PHP: the next append index is one past the largest integer key.
    if (*number != std::numeric_limits<std::int64_t>::max() &&
        (!next_index_ || *number >= *next_index_)) {
      next_index_ = *number + 1;
    } else if (*number == std::numeric_limits<std::int64_t>::max()) {
      next_index_ = *number;  // append() will refuse from here on
    }
  }
  index_.emplace(key, entries_.size());
  entries_.push_back(PhpArrayEntry{std::move(key), std::move(value)});
}

bool PhpArray::append(PhpValue value) {
  const std::int64_t key = next_index_.value_or(0);
  if (find_slot(PhpKey(key)) != nullptr) return false;  // only at INT64_MAX
  set_key(PhpKey(key), std::move(value));
  return true;
}

bool PhpArray::erase_key(const PhpKey& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return false;
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
  rebuild_index();  // positions after the erased entry moved; PHP keeps next_index_
  return true;
}

bool PhpArray::erase(std::string_view key) {
  return erase_key(normalize_key(key));
}
bool PhpArray::erase(std::int64_t key) {
  return erase_key(PhpKey(key));
}

void PhpArray::clear() {
  entries_.clear();
  index_.clear();
  next_index_.reset();
}

void PhpArray::rebuild_index() {
  index_.clear();
  for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].key, i);
}

}  // namespace cppfpm::session
