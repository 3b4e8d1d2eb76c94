// The CTest fixture behind `shared_mariadb()`: starts one MariaDB for the
// whole ctest run and stops it afterwards, so each discovered test case
// (its own process) does not pay for a server start.
//
//   shared_mariadb start DIR   install, start, write DIR/endpoint
//   shared_mariadb stop DIR    stop the server DIR/endpoint names, remove DIR
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "support/mariadb.h"

namespace fs = std::filesystem;
using namespace cppfpm::test;

namespace {

// A run that was killed before its cleanup left a server behind: stop it.
void stop_leftover(const fs::path& dir) {
  if (auto old = load_endpoint(dir / "endpoint")) stop_mariadb(*old);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

int start(const fs::path& dir) {
  stop_leftover(dir);
  fs::create_directories(dir);
  MariaDb server(dir, 0, /*outlive_starter=*/true);
  auto endpoint = server.release();
  save_endpoint(dir / "endpoint", endpoint);
  std::cout << "MariaDB pid " << endpoint.pid << " on 127.0.0.1:" << endpoint.port << ", socket "
            << endpoint.socket.string() << "\n";
  return 0;
}

int stop(const fs::path& dir) {
  auto endpoint = load_endpoint(dir / "endpoint");
  if (endpoint) stop_mariadb(*endpoint);
  if (endpoint && pid_alive(endpoint->pid)) {
    std::cerr << "MariaDB pid " << endpoint->pid << " did not stop\n";
    return 1;
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  std::cout << (endpoint ? "MariaDB stopped\n" : "no MariaDB was running\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::cerr << "usage: " << argv[0] << " start|stop DIR\n";
    return 2;
  }
  try {
    return std::strcmp(argv[1], "start") == 0 ? start(argv[2]) : stop(argv[2]);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << " " << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
}
