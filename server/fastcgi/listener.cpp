#include "server/fastcgi/listener.h"

#include "server/fastcgi/socket_acl.h"
#include "server/fastcgi/unix_ids.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
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

// A listening TCP socket on `host`:address.port; an empty Fd with errno
// set when socket() fails (the caller may try another family), throws on
// any other failure.
Fd bind_tcp(const ListenAddress& address, const std::string& host, bool dual_stack,
            const ListenOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(address.port);
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 && dual_stack) {  // a resolver without IPv6: the caller falls back to IPv4
    errno = EAFNOSUPPORT;
    return Fd();
  }
  if (rc != 0)
    throw std::runtime_error("getaddrinfo() failed for " + address.str() + ": " +
                             ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
  Fd fd(::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  int v6only = 0;
  if (dual_stack && res->ai_family == AF_INET6 &&
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
    fail("setsockopt(IPV6_V6ONLY)", address.str());
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0) fail("bind()", address.str());
  if (::listen(fd.get(), options.backlog) != 0) fail("listen()", address.str());
  return fd;
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
    if (!options.acl_users.empty() || !options.acl_groups.empty()) {
      std::vector<uid_t> users;
      std::vector<gid_t> groups;
      for (const auto& user : options.acl_users) {
        auto found = find_uid(user);
        if (!found) throw std::runtime_error("listen.acl_users: unknown user '" + user + "'");
        users.push_back(*found);
      }
      for (const auto& group : options.acl_groups) {
        auto found = find_gid(group);
        if (!found) throw std::runtime_error("listen.acl_groups: unknown group '" + group + "'");
        groups.push_back(*found);
      }
      if (std::string why = set_socket_acl(address.path, mode, users, groups); !why.empty())
        throw std::runtime_error(why);
    } else if (!options.owner.empty() || !options.group.empty()) {
      uid_t uid = static_cast<uid_t>(-1);
      gid_t gid = static_cast<gid_t>(-1);
      if (!options.owner.empty()) {
        auto found = find_uid(options.owner);
        if (!found) throw std::runtime_error("listen.owner: unknown user '" + options.owner + "'");
        uid = *found;
      }
      if (!options.group.empty()) {
        auto found = find_gid(options.group);
        if (!found) throw std::runtime_error("listen.group: unknown group '" + options.group + "'");
        gid = *found;
      }
      if (::chown(address.path.c_str(), uid, gid) != 0) fail("chown()", address.path);
    }
    if (::listen(fd.get(), options.backlog) != 0) fail("listen()", address.path);
    return fd;
  }

  BindPlan plan = bind_plan(address);
  Fd fd = bind_tcp(address, plan.host, plan.dual_stack, options);
  if (!fd && errno == EAFNOSUPPORT && !plan.ipv4_fallback.empty())
    fd = bind_tcp(address, plan.ipv4_fallback, false, options);
  if (!fd) fail("socket()", address.str());
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
