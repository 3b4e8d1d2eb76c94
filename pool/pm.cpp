#include "pool/pm.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace cppfpm::pool {

void ProcessManager::spawn(int n, PoolChildren::Announce announce) {
  for (int i = 0; i < n; ++i)
    if (children_.spawn(announce) < 0) break;
}

void ProcessManager::start() {
  switch (config().pm) {
    case PmMode::static_:
      spawn(config().pm_max_children);
      break;
    case PmMode::dynamic:
      spawn(config().pm_start_servers);
      break;
    case PmMode::ondemand:
      break;  // the first connection spawns the first child
  }
}

void ProcessManager::reached_max_children() {
  if (warned_max_children_) return;
  warned_max_children_ = true;
  children_.board().pool().max_children_reached.fetch_add(1);
  spdlog::warn("[pool {}] server reached pm.max_children setting ({}), consider raising it",
               config().name, config().pm_max_children);
}

int replacements_after_exit(const PoolConfig& c, int live, bool retired) {
  switch (c.pm) {
    case PmMode::static_:
      return c.pm_max_children - live;
    case PmMode::dynamic:
      // A child we ended for idleness is not replaced; one that died or was
      // recycled by pm.max_requests is, at once.
      return !retired && live < c.pm_max_children ? 1 : 0;
    case PmMode::ondemand:
      break;  // the next waiting connection spawns one
  }
  return 0;
}

void ProcessManager::on_child_exit(pid_t pid) {
  bool retired = retired_.erase(pid) > 0;
  spawn(replacements_after_exit(config(), static_cast<int>(children_.count()), retired),
        PoolChildren::Announce::notice);
}

void ProcessManager::tick() {
  if (config().pm == PmMode::dynamic) dynamic_tick();
  if (config().pm == PmMode::ondemand) ondemand_tick();
  // Heads queued in saturated children (pm.queue_per_child) are pressure
  // the listening socket no longer shows: the scoreboard's waiting count.
  if (config().pm != PmMode::static_ &&
      static_cast<int>(children_.count()) >= config().pm_max_children &&
      children_.board().waiting() > 0)
    reached_max_children();
}

// php-fpm's idle-server maintenance: keep idle children between
// pm.min_spare_servers and pm.max_spare_servers, spawning 1, 2, 4 ... up to
// pm.max_spawn_rate per second while short, never above pm.max_children.
// Like php-fpm, one idle child is ended per tick when there are too many.
DynamicStep dynamic_step(const PoolConfig& c, int idle, int total, int spawn_rate) {
  using Action = DynamicStep::Action;
  if (idle > c.pm_max_spare_servers) return {Action::retire_longest_idle};
  if (idle >= c.pm_min_spare_servers) return {Action::steady};
  if (total >= c.pm_max_children) return {Action::at_max_children};
  int n = std::min({spawn_rate, c.pm_min_spare_servers - idle, c.pm_max_children - total});
  return {Action::spawn, n, std::min(spawn_rate * 2, c.pm_max_spawn_rate), spawn_rate >= 8};
}

void ProcessManager::dynamic_tick() {
  auto counts = children_.board().counts();
  int total = static_cast<int>(children_.count());
  DynamicStep step = dynamic_step(config(), counts.idle, total, spawn_rate_);
  spawn_rate_ = step.next_spawn_rate;
  switch (step.action) {
    case DynamicStep::Action::retire_longest_idle:
      if (pid_t pid = children_.longest_idle(); pid > 0) {
        retired_.insert(pid);
        children_.retire(pid);
      }
      break;
    case DynamicStep::Action::steady:
      warned_max_children_ = false;
      break;
    case DynamicStep::Action::at_max_children:
      reached_max_children();
      break;
    case DynamicStep::Action::spawn:
      if (step.busy)
        spdlog::warn(
            "[pool {}] seems busy (you may need to increase pm.start_servers, or "
            "pm.min/max_spare_servers), spawning {} children, there are {} idle, and "
            "{} total children",
            config().name, step.spawn, counts.idle, total);
      spawn(step.spawn);
      break;
  }
}

// ondemand: a child idle longer than pm.process_idle_timeout is ended.
void ProcessManager::ondemand_tick() {
  std::int64_t idle_since = 0;
  pid_t pid = children_.longest_idle(&idle_since);
  if (pid > 0 && now_us() - idle_since > config().pm_process_idle_timeout.count() * 1000000) {
    retired_.insert(pid);
    children_.retire(pid);
  }
  if (children_.board().counts().idle > 0) warned_max_children_ = false;
}

WaitingStep waiting_connection_step(const PoolConfig& c, int idle, int total) {
  if (idle > 0) return WaitingStep::none;  // an idle child will take it
  if (total >= c.pm_max_children) return WaitingStep::at_max_children;
  return WaitingStep::spawn_one;
}

void ProcessManager::on_connection_waiting() {
  switch (waiting_connection_step(config(), children_.board().counts().idle,
                                  static_cast<int>(children_.count()))) {
    case WaitingStep::none:
      break;
    case WaitingStep::at_max_children:
      reached_max_children();
      break;
    case WaitingStep::spawn_one:
      spawn(1);
      break;
  }
}

}  // namespace cppfpm::pool
