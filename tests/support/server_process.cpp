#include "support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

extern char** environ;
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace cellfleet::testing {

namespace {
std::string binary() {
  return CELLFLEET_BINARY;
}

// fork + exec with stdout and stderr on a pipe; returns the read end.
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            int& out_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // A server outlives no test: when the test process dies (a crash, a kill, a timeout), its
    // servers die too instead of polling the store forever.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    // The server sees exactly the CELLFLEET_ settings the test gives it, not the test runner's
    // own (such as CELLFLEET_TEST_DYNAMODB_ENDPOINT, which the server would refuse as unknown).
    std::vector<std::string> inherited;
    for (char** e = environ; *e; ++e) {
      std::string entry(*e);
      if (entry.rfind("CELLFLEET_", 0) == 0) inherited.push_back(entry.substr(0, entry.find('=')));
    }
    for (const auto& name : inherited) unsetenv(name.c_str());
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    std::string bin = binary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd = fds[0];
  return pid;
}
}  // namespace

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("cellfleet-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args,
                             std::map<std::string, std::string> env) {
  std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--data-dir",
                                   data_.path().string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(args, env, out_fd_);
  reader_ = std::thread([this] {
    std::string pending;
    char buf[4096];
    while (true) {
      ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::lock_guard lock(mutex_);
        lines_.push_back(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
  });
  auto line = wait_for_log("\"listening\"", std::chrono::seconds(20));
  if (line.empty()) {
    std::string all;
    for (const auto& l : log_lines()) all += l + "\n";
    throw std::runtime_error("cellfleet serve did not start:\n" + all);
  }
  port_ = nlohmann::json::parse(line).at("port").get<std::uint16_t>();
}

ServerProcess::~ServerProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
}

bool ServerProcess::running() {
  if (exit_status_ != -1) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int ServerProcess::signal_and_wait(int sig, std::chrono::milliseconds timeout) {
  if (running()) kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return running() ? -1 : exit_status_;
}

std::vector<std::string> ServerProcess::log_lines() {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string ServerProcess::wait_for_log(const std::string& needle,
                                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& line : log_lines()) {
      if (line.find(needle) != std::string::npos) return line;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

std::pair<int, std::string> run_cellfleet(const std::vector<std::string>& args,
                                          const std::map<std::string, std::string>& env) {
  int fd = -1;
  pid_t pid = spawn(args, env, fd);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

}  // namespace cellfleet::testing
