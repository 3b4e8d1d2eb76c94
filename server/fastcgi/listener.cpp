#include "server/fastcgi/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace cppfpm::server {
namespace {

[[noreturn]] void fail(const std::string& call, const std::string& what) {
  throw std::runtime_error(call + " failed for " + what + ": " + std::strerror(errno) + " (" +
                           std::to_string(errno) + ")");
}

}  // namespace

Fd open_listener(const ListenAddress& address, const ListenOptions& options) {
  if (address.kind == ListenAddress::Kind::unix_path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) fail("socket()", address.path);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, address.path.c_str(), sizeof(sa.sun_path) - 1);
    ::unlink(address.path.c_str());
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
      fail("bind()", address.path);
    mode_t mode =
        options.mode.empty() ? 0660 : static_cast<mode_t>(std::stoul(options.mode, nullptr, 8));
    if (::chmod(address.path.c_str(), mode) != 0) fail("chmod()", address.path);
    if (!options.owner.empty() || !options.group.empty()) {
      uid_t uid = static_cast<uid_t>(-1);
      gid_t gid = static_cast<gid_t>(-1);
      if (!options.owner.empty()) {
        const passwd* pw = ::getpwnam(options.owner.c_str());
        if (!pw) throw std::runtime_error("listen.owner: unknown user '" + options.owner + "'");
        uid = pw->pw_uid;
      }
      if (!options.group.empty()) {
        const group* gr = ::getgrnam(options.group.c_str());
        if (!gr) throw std::runtime_error("listen.group: unknown group '" + options.group + "'");
        gid = gr->gr_gid;
      }
      if (::chown(address.path.c_str(), uid, gid) != 0) fail("chown()", address.path);
    }
    if (::listen(fd.get(), options.backlog) != 0) fail("listen()", address.path);
    return fd;
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(address.port);
  int rc = ::getaddrinfo(address.host.empty() ? nullptr : address.host.c_str(), port.c_str(),
                         &hints, &res);
  if (rc != 0)
    throw std::runtime_error("getaddrinfo() failed for " + address.str() + ": " +
                             ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
  Fd fd(::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) fail("socket()", address.str());
  int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0) fail("bind()", address.str());
  if (::listen(fd.get(), options.backlog) != 0) fail("listen()", address.str());
  return fd;
}

ClientFilter::ClientFilter(std::vector<std::string> allowed) : allowed_(std::move(allowed)) {}

std::string ClientFilter::peer_text(const sockaddr_storage& peer) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (peer.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, buf, sizeof(buf));
  } else if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
      ::inet_ntop(AF_INET, &in6.sin6_addr.s6_addr[12], buf, sizeof(buf));
    else
      ::inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof(buf));
  } else {
    return "unix";
  }
  return buf;
}

bool ClientFilter::allows(const sockaddr_storage& peer) const {
  if (allowed_.empty() || peer.ss_family == AF_UNIX) return true;
  std::string ip = peer_text(peer);
  for (const auto& a : allowed_)
    if (a == ip || a == "any") return true;
  return false;
}

}  // namespace cppfpm::server
