#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/reaper.h"
#include "support/temp_dir.h"

extern char** environ;

namespace cppfpm::test {

std::filesystem::path find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin";
  std::istringstream split(dirs);
  for (std::string dir; std::getline(split, dir, ':');) {
    if (dir.empty()) continue;
    auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("program not found: " + name);
}

namespace {

std::vector<std::string> merged_environment(const ProcessOptions& options) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    bool overridden = false;
    for (const auto& [name, value] : options.env)
      if (entry.compare(0, name.size() + 1, name + "=") == 0) overridden = true;
    if (!overridden) env.push_back(std::move(entry));
  }
  for (const auto& [name, value] : options.env) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void exec_child(const char* program, char* const* argv, char* const* envp,
                             const char* log, const char* cwd, bool die_with_parent, pid_t parent) {
  ::setpgid(0, 0);
  if (die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int in = ::open("/dev/null", O_RDONLY);
  int out = ::open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0) ::_exit(126);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  ::close_range(3, ~0U, 0);
  if (*cwd && ::chdir(cwd) != 0) ::_exit(126);
  ::execve(program, argv, envp);
  const char msg[] = "exec failed: ";
  [[maybe_unused]] auto a = ::write(2, msg, sizeof msg - 1);
  [[maybe_unused]] auto b = ::write(2, program, std::strlen(program));
  [[maybe_unused]] auto c = ::write(2, "\n", 1);
  ::_exit(127);
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::filesystem::path log, ProcessOptions options)
    : argv_(std::move(argv)), log_(std::move(log)) {
  if (argv_.empty()) throw std::invalid_argument("Process: empty argv");
  std::string program = find_program(argv_[0]).string();
  std::vector<std::string> args = argv_;
  std::vector<std::string> env = merged_environment(options);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  std::string log_name = log_.string(), cwd = options.cwd.string();
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork() failed: ") + std::strerror(errno));
  if (pid_ == 0)
    exec_child(program.c_str(), c_args.data(), c_env.data(), log_name.c_str(), cwd.c_str(),
               options.die_with_parent, parent);
  ::setpgid(pid_, pid_);  // also done in the child; whichever runs first wins
  if (options.die_with_parent) {
    reap_group_if_we_die(pid_);
    reaped_ = true;
  }
}

Process::Process(Process&& other) noexcept
    : argv_(std::move(other.argv_)),
      log_(std::move(other.log_)),
      pid_(std::exchange(other.pid_, -1)),
      status_(other.status_),
      reaped_(std::exchange(other.reaped_, false)) {}

Process::~Process() {
  if (pid_ <= 0) return;
  stop();
  ::kill(-pid_, SIGKILL);  // leftovers of its process group
  if (reaped_) forget_group(pid_);
}

std::string Process::log() const {
  try {
    return read_file(log_);
  } catch (const std::exception&) {
    return {};
  }
}

std::optional<int> Process::exit_status() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) status_ = status;
  return status_;
}

bool Process::running() {
  return pid_ > 0 && !exit_status();
}

std::optional<int> Process::wait_exit(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_status()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  return status_;
}

int Process::stop(int sig, Millis grace) {
  if (pid_ <= 0) return status_.value_or(0);
  if (running()) {
    ::kill(pid_, sig);
    if (!wait_exit(grace)) {
      ::kill(pid_, SIGKILL);
      wait_exit(10s);
    }
  }
  return status_.value_or(-1);
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

pid_t Process::release() {
  if (reaped_) forget_group(pid_);
  reaped_ = false;
  return std::exchange(pid_, -1);
}

bool Process::wait_for_port(int port, Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    if (port_accepts(port)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::vector<pid_t> Process::children() const {
  std::vector<pid_t> out;
  if (pid_ <= 0) return out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...; comm may hold spaces, so parse after ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid_ && state != 'Z') out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

int run_command(std::vector<std::string> argv, const std::filesystem::path& log, Millis timeout,
                ProcessOptions options) {
  Process process(std::move(argv), log, std::move(options));
  auto status = process.wait_exit(timeout);
  if (!status) {
    process.stop(SIGKILL);
    return -1;
  }
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  return 128 + WTERMSIG(*status);
}

bool pid_alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close == std::string::npos || line.substr(close + 2, 1) != "Z";
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) +
           ")";
  return "status " + std::to_string(status);
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto name_end = text.rfind(')');
  if (name_end == std::string::npos || name_end + 2 > text.size()) return -1;
  // The command name may hold spaces: fields are counted after its ')'.
  std::istringstream fields(text.substr(name_end + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)),
                             std::istream_iterator<std::string>());
  if (f.size() <= 13) return -1;
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace cppfpm::test
