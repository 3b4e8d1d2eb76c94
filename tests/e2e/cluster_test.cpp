// The seed's cluster as `deploy/lemmp up --cluster` builds it from the
// repo's own configs (deploy/nginx/cluster-*.conf*, deploy/cppfpm.conf),
// both topologies: the drill's assertions (no session changes through a
// SIGKILL of each cppfpm node, one memcached, one MariaDB node, and a frozen
// cppfpm node; errors at most the requests in flight at the kill), and
// static files served by nginx alone, also while every cppfpm node is down.
// Label `cluster`; each case brings its cluster up on a free port range.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <regex>

#include "support/process.h"
#include "support/temp_dir.h"

using namespace cppfpm::test;
using namespace std::chrono_literals;

namespace {

const std::string kNet = "127.0.100";

bool bindable(const std::string& addr, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// Seven ports from `base` free on every node's address.
int free_port_base() {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 40000);
  const int hosts[] = {4, 5, 6, 7, 8, 18, 9, 19, 29, 10};
  for (int attempt = 0; attempt < 200; ++attempt) {
    int base = pick(rng);
    bool all = true;
    for (int h : hosts)
      for (int p = base; p < base + 7 && all; ++p)
        all = bindable(kNet + "." + std::to_string(h), p);
    if (all) return base;
  }
  throw std::runtime_error("no free port range on 127.0.100.x");
}

class Cluster {
 public:
  explicit Cluster(int topology) : dir_("cppfpm-cluster-"), base_(free_port_base()) {
    // MariaDB runs as `mysql` when root: it must reach its datadir below.
    std::filesystem::permissions(
        dir_.path(), std::filesystem::perms::group_exec | std::filesystem::perms::others_exec,
        std::filesystem::perm_options::add);
    up_ = lemmp("up --topology " + std::to_string(topology), 240s);
  }
  ~Cluster() { lemmp("down", 120s); }

  // `deploy/lemmp <args>` with this cluster's state and ports; its exit code.
  int lemmp(const std::string& args, Millis timeout = 120s) {
    last_output_ = dir_.path() / "lemmp.out";
    std::filesystem::remove(last_output_);
    std::string cmd = "LEMMP_STATE='" + (dir_.path() / "state").string() +
                      "' LEMMP_PORT_BASE=" + std::to_string(base_) +
                      " LEMMP_NO_BUILD=1 BUILD_DIR='" CPPFPM_BUILD_DIR "' '" CPPFPM_SOURCE_DIR
                      "/deploy/lemmp' " +
                      args;
    int rc = run_command({"bash", "-c", cmd}, last_output_, timeout);
    output_ = read_file(last_output_);
    transcript_ += "$ lemmp " + args + " (exit " + std::to_string(rc) + ")\n" + output_;
    return rc;
  }
  const std::string& output() const { return output_; }
  const std::string& transcript() const { return transcript_; }
  int up_status() const { return up_; }
  std::string front() const { return "http://" + kNet + ".10:" + std::to_string(base_); }

  // curl through the front: "<status> <body>".
  std::string get(const std::string& path) {
    auto out = dir_.path() / "curl.out";
    std::filesystem::remove(out);
    run_command({"curl", "-sS", "-m", "10", "-w", " %{http_code}", front() + path}, out, 20s);
    return read_file(out);
  }

  // Sum of both cppfpm nodes' `accepted conn`, as `lemmp status` reads it.
  long accepted() {
    lemmp("status");
    static const std::regex kAccepted(R"(requests (\d+)\))");
    long sum = 0;
    int found = 0;
    for (std::sregex_iterator it(output_.begin(), output_.end(), kAccepted), end; it != end; ++it) {
      sum += std::stol((*it)[1]);
      ++found;
    }
    return found == 2 ? sum : -1;
  }

 private:
  TempDir dir_;
  int base_;
  int up_ = -1;
  std::filesystem::path last_output_;
  std::string output_, transcript_;
};

void check_cluster(int topology) {
  Cluster cluster(topology);
  INFO(cluster.transcript());
  REQUIRE(cluster.up_status() == 0);
  CHECK(cluster.output().find("the front: " + cluster.front()) != std::string::npos);

  // Every node up, MariaDB a three-node primary component.
  REQUIRE(cluster.lemmp("status") == 0);
  CHECK(cluster.output().find("cluster size 3") != std::string::npos);

  // The pages through the front.
  CHECK(cluster.get("/testMySQL.php").find("<h1>connect success</h1> 200") == 0);
  CHECK(cluster.get("/queryCache.php?id=3").find("MariaDB hoodie") != std::string::npos);

  // Static files are nginx's: cppfpm's accepted conn only counts the
  // status reads themselves.
  long a = cluster.accepted();
  long b = cluster.accepted();
  REQUIRE(a >= 0);
  for (int i = 0; i < 10; ++i)
    CHECK(cluster.get("/index.html").find("topology " + std::to_string(topology)) !=
          std::string::npos);
  long c = cluster.accepted();
  CHECK(c - b == b - a);

  // The drill: each cppfpm node, one memcached, one MariaDB node killed
  // and restarted, a cppfpm node frozen and thawed; no session changes.
  {
    int rc = cluster.lemmp("drill --nodes fpm1,fpm2,mc1,db2 --freeze fpm2 --hold 1.5 --settle 1.5",
                           150s);
    INFO(cluster.output());
    CHECK(rc == 0);
    CHECK(cluster.output().find("drill: passed") != std::string::npos);
    for (std::string step :
         {"SIGKILL fpm1", "SIGKILL fpm2", "SIGKILL mc1", "SIGKILL db2", "SIGSTOP fpm2"}) {
      std::regex line(step + R"( +\d+ +\d+ +\d+ +[0-9.]+s +unchanged\n)");
      CHECK(std::regex_search(cluster.output(), line));
    }
  }

  // Every cppfpm node down: static files still served, *.php a 502.
  REQUIRE(cluster.lemmp("stop fpm1") == 0);
  REQUIRE(cluster.lemmp("stop fpm2") == 0);
  for (int i = 0; i < 5; ++i) {
    auto page = cluster.get("/index.html");
    CHECK(page.find("LEMMP cluster on cppfpm") != std::string::npos);
    CHECK(page.substr(page.size() - 4) == " 200");
  }
  auto php = cluster.get("/setSession.php");
  CHECK(php.substr(php.size() - 4) == " 502");
  cluster.lemmp("status");
  CHECK(cluster.output().find("fpm1   cppfpm") != std::string::npos);
  CHECK(std::regex_search(cluster.output(), std::regex(R"(fpm1 +cppfpm +\S+ +- +down)")));
}

}  // namespace

TEST_CASE("topology 1 (front sends *.php to cppfpm) keeps every session", "[cluster]") {
  check_cluster(1);
}

TEST_CASE("topology 2 (front sends all to the web nodes) keeps every session", "[cluster]") {
  check_cluster(2);
}
