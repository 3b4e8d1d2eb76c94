#include "session/memcached_outage.h"

#include <spdlog/spdlog.h>

#include "server/memcached/reply.h"

namespace cppfpm::session {

MemcachedOutages::MemcachedOutages(const std::vector<memcached::Server>& servers,
                                   std::chrono::milliseconds grace, int replicas)
    : all_names_(memcached::server_names(servers)),
      replicated_(replicas > 0),
      store_(grace, memcached::OutageLog::kSessionStoreSlot) {
  for (std::size_t i = 0; i < servers.size(); ++i) {
    names_.push_back(memcached::server_name(servers[i]));
    servers_.emplace_back(grace,
                          memcached::OutageLog::kFirstSessionServerSlot + static_cast<int>(i));
  }
}

// A server's own outage is only worth a line when others can stand in for
// it; with one server, the store's line says it all.
ServerReply MemcachedOutages::classify(std::size_t server, memcached_st* handle,
                                       memcached_return_t rc, const char* call,
                                       std::string_view key) {
  const memcached::Reply kind = memcached::classify_reply(rc);
  if (kind == memcached::Reply::answered) {
    if (servers_[server].succeeded() && names_.size() > 1)
      spdlog::info("session store: memcached {} reachable again", names_[server]);
    return {rc == MEMCACHED_NOTFOUND ? StoreResult::not_found : StoreResult::ok, false, {}};
  }
  ServerReply reply{StoreResult::unavailable, kind == memcached::Reply::refused,
                    memcached_last_error_message(handle)};
  if (!reply.refused && servers_[server].failed() && names_.size() > 1)
    spdlog::warn("session store: memcached {} unreachable: {}({}) failed: {}{}", names_[server],
                 call, key, reply.error,
                 replicated_ ? "; its sessions are served from their replicas" : "");
  return reply;
}

StoreResult MemcachedOutages::outcome(StoreResult result, const Failures& failures,
                                      const char* call, std::string_view key) {
  if (result == StoreResult::unavailable && failures.refused) {
    spdlog::warn("session store: memcached refused {}({}): {}", call, key, failures.error);
    return result;
  }
  if (result != StoreResult::unavailable) {
    if (store_.succeeded())
      spdlog::info("session store: memcached reachable again ({})", all_names_);
    return result;
  }
  if (store_.failed()) {
    spdlog::error(
        "session store: memcached unreachable ({}): {}({}) failed: {}; session pages answer 503 "
        "until it is back (session.save_path, session.memcached_timeout)",
        all_names_, call, key, failures.error);
  }
  return StoreResult::unavailable;
}

}  // namespace cppfpm::session
