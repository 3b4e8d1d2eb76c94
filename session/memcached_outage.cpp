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
    servers_.emplace_back(grace, memcached::OutageLog::session_server_slot(static_cast<int>(i)));
  }
}

// With one server its outage is the store's, and the lines say so; with
// several, each line names its server and what its sessions do meanwhile.
ServerReply MemcachedOutages::classify(std::size_t server, memcached_st* handle,
                                       memcached_return_t rc, const char* call,
                                       std::string_view key, CallInfo info) {
  const memcached::Reply kind = memcached::classify_reply(rc);
  if (kind == memcached::Reply::answered) {
    if (info.answer_expected && servers_[server].succeeded(info.started)) {
      if (names_.size() == 1)
        spdlog::info("session store: memcached reachable again ({})", names_[server]);
      else
        spdlog::info("session store: memcached {} reachable again", names_[server]);
    }
    store_.succeeded();  // a handle was set up after all
    return {rc == MEMCACHED_NOTFOUND ? StoreResult::not_found : StoreResult::ok, false, {}};
  }
  ServerReply reply{StoreResult::unavailable, kind == memcached::Reply::refused,
                    memcached_last_error_message(handle)};
  if (reply.refused || memcached::skipped_server(rc) || !servers_[server].failed(info.started))
    return reply;
  if (names_.size() == 1) {
    spdlog::error(
        "session store: memcached unreachable ({}): {}({}) failed: {}; session pages answer 503 "
        "until it is back (session.save_path, session.memcached_timeout)",
        names_[server], call, key, reply.error);
  } else {
    spdlog::warn("session store: memcached {} unreachable: {}({}) failed: {}; {}", names_[server],
                 call, key, reply.error,
                 replicated_ ? "its sessions are served from their replicas"
                             : "its sessions answer 503 until it is back");
  }
  return reply;
}

StoreResult MemcachedOutages::outcome(StoreResult result, const Failures& failures,
                                      const char* call, std::string_view key) {
  if (result == StoreResult::unavailable && failures.refused)
    spdlog::warn("session store: memcached refused {}({}): {}", call, key, failures.error);
  return result;
}

StoreResult MemcachedOutages::no_handle(std::string_view key) {
  if (store_.failed())
    spdlog::error(
        "session store: no libmemcached handle for memcached ({}) to ask for {}; session pages "
        "answer 503",
        all_names_, key);
  return StoreResult::unavailable;
}

}  // namespace cppfpm::session
