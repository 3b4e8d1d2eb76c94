#pragma once
// Handing kept FastCGI connections from a stopping child to the next
// generation on a reload (SIGUSR2), instead of closing them: an idle kept
// connection closed by an old child may meet a request nginx writes on it
// at that very moment, and nginx answers 502 to a POST it cannot retry.
//
// Each pool has one unix SOCK_DGRAM socket pair made by the first master
// and kept across every re-exec (server/reexec.h): a stopping child sends
// its idle kept connections as SCM_RIGHTS on the sending end, the children
// of the new generation take them from the receiving end and wait for their
// next request as for any kept connection. The request head is only ever
// peeked at, so bytes nginx already sent are still in the socket.
#include <cstddef>
#include <vector>

namespace cppfpm::server {

struct HandoffSockets {
  int receive = -1;
  int send = -1;
  bool valid() const { return receive >= 0 && send >= 0; }
};

// A new pair, both ends close-on-exec and non-blocking; throws on failure.
HandoffSockets open_handoff_sockets();

// At most this many descriptors in one datagram (the kernel's SCM_MAX_FD is
// 253); the receiving queue holds only net.unix.max_dgram_qlen datagrams
// (10 by default), so connections go in batches.
inline constexpr std::size_t kHandoffBatch = 128;

// Sends `fds` (at most kHandoffBatch) in one datagram without blocking.
// True when sent: the receiver owns a copy of each, the caller still has
// its own. False (errno set) when not: no receiver room (EAGAIN), or broken.
bool send_connections(int send_fd, const std::vector<int>& fds);

// Takes one datagram's descriptors without blocking: empty when none waits.
// Each returned fd is a stream socket, close-on-exec, owned by the caller;
// anything else that came is closed.
std::vector<int> receive_connections(int receive_fd, bool& more);

// Whether `fd` is one end of a unix datagram socket (the inherited pair).
bool is_unix_datagram_socket(int fd);

}  // namespace cppfpm::server
