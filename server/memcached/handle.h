#pragma once
// A libmemcached handle as cppfpm uses memcached everywhere (session store,
// query cache): text protocol, every call bounded, dead servers skipped.
#include <libmemcached/memcached.h>

#include <chrono>
#include <string_view>
#include <vector>

#include "server/memcached/servers.h"

namespace cppfpm::memcached {

// A handle on `servers` (ketama when several), each connect/send/receive
// bounded by `timeout`, a failed server skipped for `retry`; nullptr, logged
// under `who`, when a server cannot be added.
memcached_st* make_memcached_handle(const std::vector<Server>& servers, std::chrono::milliseconds timeout,
                                    std::chrono::seconds retry, std::string_view who);

}  // namespace cppfpm::memcached
