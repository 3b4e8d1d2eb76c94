#include "server/fastcgi/handoff.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>

namespace cppfpm::server {
namespace {

// The payload names the protocol; a datagram without it is not ours.
constexpr char kMagic[] = "cppfpm-handoff-1";

int socket_option(int fd, int option) {
  int value = -1;
  socklen_t size = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &size) != 0) return -1;
  return value;
}

}  // namespace

HandoffSockets open_handoff_sockets() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
    int error = errno;
    throw std::runtime_error(std::string("socketpair() for the reload handoff failed: ") +
                             std::strerror(error));
  }
  return HandoffSockets{pair[1], pair[0]};
}

bool is_unix_datagram_socket(int fd) {
  return socket_option(fd, SO_DOMAIN) == AF_UNIX && socket_option(fd, SO_TYPE) == SOCK_DGRAM;
}

bool send_connections(int send_fd, const std::vector<int>& fds) {
  if (fds.empty()) return true;
  if (fds.size() > kHandoffBatch) {
    errno = EINVAL;
    return false;
  }
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()), 0);
  iovec payload{const_cast<char*>(kMagic), sizeof kMagic};
  msghdr message{};
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  ssize_t sent;
  do {
    sent = ::sendmsg(send_fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return sent == static_cast<ssize_t>(sizeof kMagic);
}

std::vector<int> receive_connections(int receive_fd, bool& more) {
  more = false;
  std::vector<int> fds;
  char payload[sizeof kMagic + 8];
  iovec io{payload, sizeof payload};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * 253), 0);
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  ssize_t n;
  do {
    n = ::recvmsg(receive_fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      spdlog::warn("recvmsg() on the reload handoff socket failed: {} ({})", std::strerror(errno),
                   errno);
    return fds;
  }
  more = true;
  std::vector<int> received;
  for (cmsghdr* h = CMSG_FIRSTHDR(&message); h; h = CMSG_NXTHDR(&message, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    std::size_t at = received.size();
    received.resize(at + count);
    std::memcpy(received.data() + at, CMSG_DATA(h), count * sizeof(int));
  }
  bool ours = n == static_cast<ssize_t>(sizeof kMagic) && std::memcmp(payload, kMagic, n) == 0;
  if (message.msg_flags & MSG_CTRUNC)
    spdlog::warn("connections handed over on reload were lost (out of file descriptors?)");
  for (int fd : received) {
    if (ours && socket_option(fd, SO_TYPE) == SOCK_STREAM)
      fds.push_back(fd);
    else
      ::close(fd);
  }
  return fds;
}

}  // namespace cppfpm::server
