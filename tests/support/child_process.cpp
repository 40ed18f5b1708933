#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <thread>
#include <utility>

namespace cellfleet::testing {

namespace {
using SteadyClock = std::chrono::steady_clock;

int exit_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int remaining_ms(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}
}  // namespace

ChildProcess::ChildProcess(const std::string& binary, const std::vector<std::string>& args) {
  // Everything the child needs is built before fork: after it, only exec-safe calls.
  std::vector<std::string> words;
  words.push_back(binary);
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the test died before prctl took effect
    dup2(fds[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
}

ChildProcess::~ChildProcess() {
  if (exit_status_ == -1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (at_end_) {
      if (buffer_.empty()) return std::nullopt;
      return std::exchange(buffer_, {});  // a last line without its newline
    }
    pollfd ready{out_fd_, POLLIN, 0};
    const int polled = poll(&ready, 1, remaining_ms(deadline));
    if (polled == 0) return std::nullopt;
    if (polled < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll failed");
    }
    char chunk[4096];
    const ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      at_end_ = true;
    } else {
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
}

std::vector<std::string> ChildProcess::read_remaining_lines(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::vector<std::string> lines;
  while (auto line = read_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
    lines.push_back(std::move(*line));
  }
  return lines;
}

void ChildProcess::send_signal(int sig) {
  if (exit_status_ == -1) kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (exit_status_ == -1) {
    int status = 0;
    const pid_t reaped = waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) {
      exit_status_ = exit_status(status);
    } else if (SteadyClock::now() >= deadline) {
      return -1;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return exit_status_;
}

Completed run_to_completion(const std::string& binary, const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  ChildProcess child(binary, args);
  Completed completed;
  completed.lines = child.read_remaining_lines(timeout);
  completed.status = child.wait(std::chrono::milliseconds(remaining_ms(deadline)));
  return completed;  // a child still running is SIGKILLed by ~ChildProcess
}

}  // namespace cellfleet::testing
