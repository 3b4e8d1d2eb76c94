#pragma once
// systemd Type=notify without libsystemd: the sd_notify(3) datagram to
// $NOTIFY_SOCKET. A no-op when not started by systemd.
#include <string>

namespace cppfpm::pool {

bool systemd_notify(const std::string& state);

}  // namespace cppfpm::pool
