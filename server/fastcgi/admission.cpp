#include "server/fastcgi/admission.h"

#include <algorithm>

namespace cppfpm::server {

Admission::Admission(AdmissionRules rules, std::function<bool()> at_max_children,
                     std::function<void(int)> report_waiting, std::function<bool()> pool_saturated)
    : rules_(rules),
      at_max_children_(std::move(at_max_children)),
      report_waiting_(std::move(report_waiting)),
      pool_saturated_(pool_saturated ? std::move(pool_saturated) : at_max_children_) {}

int Admission::do_capacity() const {
  if (rules_.queue <= 0 || (pool_saturated_ && !pool_saturated_())) return rules_.threads;
  return rules_.threads + rules_.queue;
}

bool Admission::do_requests_left(long promised) const {
  return rules_.max_requests <= 0 || served_ + promised < rules_.max_requests;
}

bool Admission::do_may_accept() const {
  const long reserved = static_cast<long>(reservations_.size());
  const long promised = in_flight_ + reserved;
  if (!do_requests_left(promised)) return false;
  if (promised < rules_.threads || do_flooded()) return true;
  // The queue's places are for new connections: kept connections' requests
  // take none of them.
  const int capacity = do_capacity();
  return capacity > rules_.threads && std::max(0, in_flight_ - kept_) + reserved < capacity;
}

// Reservations are held by connections whose head has not arrived, so the
// difference is the connections silent past their reservation.
bool Admission::do_flooded() const {
  return rules_.flood_silent > 0 &&
         unheard_ - static_cast<int>(reservations_.size()) >= rules_.flood_silent;
}

// Saturated and no reservation left (one at a time), the queue not past its
// bound already, requests left, and no child the pm could add.
bool Admission::do_overflow_allowed() const {
  // Shedding takes what the backlog holds at once (probes included).
  if (rules_.shed || do_may_accept() || !reservations_.empty()) return false;
  if (rules_.max_requests > 0 && served_ + in_flight_ >= rules_.max_requests) return false;
  if (in_flight_ > rules_.threads + std::max(0, rules_.queue)) return false;
  return !at_max_children_ || at_max_children_();
}

void Admission::do_change_waiting(int delta) {
  waiting_ += delta;
  if (report_waiting_) report_waiting_(waiting_);
}

void Admission::do_release(AdmissionTicket& ticket) {
  std::erase_if(reservations_, [&](const Reservation& r) { return r.id == ticket.id_; });
  if (ticket.unheard_) {
    ticket.unheard_ = false;
    --unheard_;
  }
  if (ticket.waiting_) {
    ticket.waiting_ = false;
    do_change_waiting(-1);
  }
}

bool Admission::may_accept() const {
  std::lock_guard lock(mutex_);
  return do_may_accept();
}

bool Admission::overflow_allowed() const {
  std::lock_guard lock(mutex_);
  return do_overflow_allowed();
}

bool Admission::overflow_due(bool backlog_waiting, Time now) {
  std::lock_guard lock(mutex_);
  if (!backlog_waiting || !do_overflow_allowed()) {
    backlog_since_.reset();
    return false;
  }
  if (!backlog_since_) {
    backlog_since_ = now;
    return false;
  }
  if (now - *backlog_since_ < rules_.overflow_delay) return false;
  backlog_since_.reset();
  return true;
}

std::optional<std::chrono::milliseconds> Admission::next_check(Time now) const {
  using std::chrono::milliseconds;
  std::lock_guard lock(mutex_);
  std::optional<milliseconds> next;
  for (const Reservation& r : reservations_) {
    auto left = std::max(milliseconds(0), std::chrono::ceil<milliseconds>(r.until - now));
    if (!next || left < *next) next = left;
  }
  if (!do_may_accept() && (!next || rules_.backlog_poll < *next)) next = rules_.backlog_poll;
  return next;
}

void Admission::accepted(AdmissionTicket& ticket, Kind kind, Time now) {
  std::lock_guard lock(mutex_);
  ticket = AdmissionTicket{};
  ticket.kind_ = kind;
  ticket.id_ = next_id_++;
  if (kind == Kind::status_only) return;
  ticket.unheard_ = true;
  ticket.fresh_ = true;
  ++unheard_;
  if (kind == Kind::shed) {
    // No place is promised to it, but it waits, as it would have in the
    // backlog, until its head arrives and is judged.
    ticket.waiting_ = true;
    do_change_waiting(+1);
    return;
  }
  // Taken with every thread promised (overflow, or into the queue): it
  // waits, as it would have in the backlog, until its head arrives.
  bool queued = in_flight_ + static_cast<int>(reservations_.size()) >= rules_.threads;
  reservations_.push_back(Reservation{ticket.id_, now + rules_.reservation});
  if (kind == Kind::overflow || queued) {
    ticket.waiting_ = true;
    do_change_waiting(+1);
  }
}

void Admission::head_arrived(AdmissionTicket& ticket) {
  std::lock_guard lock(mutex_);
  do_release(ticket);
}

void Admission::closed(AdmissionTicket& ticket) {
  std::lock_guard lock(mutex_);
  do_release(ticket);
}

Admission::Admit Admission::admit(AdmissionTicket& ticket) {
  std::lock_guard lock(mutex_);
  // A connection's first request came through accept; any later one (or
  // one on a connection handed over by the previous generation) is kept.
  const bool kept = !ticket.fresh_;
  ticket.fresh_ = false;
  ticket.kept_ = kept;
  const auto count = [&] {
    ++in_flight_;
    if (kept) ++kept_;
  };
  // A connection taken to be refused (Kind::shed) was promised nothing: it
  // may use only places no connection accepted before it was promised
  // (their heads can arrive after its own).
  const int promised = ticket.kind_ == Kind::shed ? static_cast<int>(reservations_.size()) : 0;
  int running = in_flight_ - queued_;
  if (queued_ == 0 && running + promised < rules_.threads) {
    count();
    return Admit::serve;
  }
  // Full: every thread busy, the queue at its bound, and no other child
  // that could serve it sooner. A thread free with requests still queued
  // (the loop hands them over at the end of its turn) is not full.
  // The places are counted as do_may_accept counts them: kept connections'
  // requests take none.
  const int new_requests = std::max(0, in_flight_ - kept_) + promised;
  if (rules_.shed && running + promised >= rules_.threads &&
      new_requests >= rules_.threads + std::max(0, rules_.queue) &&
      (!pool_saturated_ || pool_saturated_())) {
    ++shed_;
    return Admit::shed;
  }
  count();
  ++queued_;
  ticket.queued_ = true;
  do_change_waiting(+1);
  return Admit::queue;
}

bool Admission::thread_free() const {
  std::lock_guard lock(mutex_);
  return in_flight_ - queued_ < rules_.threads;
}

void Admission::expired(AdmissionTicket& ticket) {
  std::lock_guard lock(mutex_);
  if (!ticket.queued_) return;
  ticket.queued_ = false;
  --queued_;
  --in_flight_;
  if (ticket.kept_) --kept_;
  ++shed_;
  do_change_waiting(-1);
}

bool Admission::may_shed() const {
  std::lock_guard lock(mutex_);
  if (!rules_.shed || do_may_accept() || !do_requests_left(in_flight_)) return false;
  return !pool_saturated_ || pool_saturated_();
}

void Admission::tick(Time now) {
  std::lock_guard lock(mutex_);
  std::erase_if(reservations_, [&](const Reservation& r) { return now >= r.until; });
}

bool Admission::taken(AdmissionTicket& ticket) {
  std::lock_guard lock(mutex_);
  const bool kept = ticket.kept_;
  if (!ticket.queued_) return kept;
  ticket.queued_ = false;
  --queued_;
  do_change_waiting(-1);
  return kept;
}

bool Admission::finished(bool abandoned, bool kept) {
  std::lock_guard lock(mutex_);
  ++served_;
  if (!abandoned) --in_flight_;
  if (kept) --kept_;
  return rules_.max_requests > 0 && served_ >= rules_.max_requests;
}

void Admission::terminated() {
  std::lock_guard lock(mutex_);
  --in_flight_;
}

int Admission::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

int Admission::kept() const {
  std::lock_guard lock(mutex_);
  return kept_;
}

int Admission::queued() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

long Admission::shed() const {
  std::lock_guard lock(mutex_);
  return shed_;
}

int Admission::reserved() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(reservations_.size());
}

int Admission::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

long Admission::served() const {
  std::lock_guard lock(mutex_);
  return served_;
}

int Admission::unheard() const {
  std::lock_guard lock(mutex_);
  return unheard_;
}

bool Admission::flooded() const {
  std::lock_guard lock(mutex_);
  return do_flooded();
}

}  // namespace cppfpm::server
