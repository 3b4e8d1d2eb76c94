#pragma once
// The pool's listening socket, opened by the master and inherited by every
// child (php-fpm's fpm_sockets).
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "server/fastcgi/fd.h"
#include "server/fastcgi/listen_address.h"

namespace cppfpm::server {

struct ListenOptions {
  int backlog = -1;                // listen(2) takes it as the kernel's maximum (somaxconn)
  std::string owner, group, mode;  // unix sockets only
  // listen.acl_users / listen.acl_groups: when either is set, a POSIX ACL
  // gives them read-write and owner / group are not applied (php-fpm).
  std::vector<std::string> acl_users, acl_groups;
};

// Opens, binds and listens (non-blocking, close-on-exec). Throws
// std::runtime_error naming the failed call and errno.
Fd open_listener(const ListenAddress& address, const ListenOptions& options);

// listen.allowed_clients: empty = any. Compares the peer's IP literally.
class ClientFilter {
 public:
  explicit ClientFilter(std::vector<std::string> allowed);
  bool allows(const sockaddr_storage& peer) const;
  static std::string peer_text(const sockaddr_storage& peer);

 private:
  std::vector<std::string> allowed_;
};

}  // namespace cppfpm::server
