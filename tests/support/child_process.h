#pragma once
// Any program of the build started as a child process whose stdout the test reads line by line,
// for tests that need a real second process: one that can be killed with SIGKILL at a moment the
// test chooses. (ServerProcess, in server_process.h, is the same for `cellfleet serve`.)

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cellfleet::testing {

class ChildProcess {
 public:
  // Starts binary with args; its stdout goes to a pipe read by read_line(), its stderr to the
  // test's. The child is killed should the test process die first (PR_SET_PDEATHSIG).
  ChildProcess(const std::string& binary, const std::vector<std::string>& args);
  ~ChildProcess();  // SIGKILLs the child if it still runs, and reaps it
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of stdout without its newline; nullopt at end of stream or when no whole line
  // arrived within timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Every further line, until the child closes its stdout (exits) or timeout passes.
  std::vector<std::string> read_remaining_lines(std::chrono::milliseconds timeout);

  void send_signal(int sig);
  // Waits for the child to exit: its exit code, 128 + the signal that ended it, or -1 when it
  // still runs after timeout.
  int wait(std::chrono::milliseconds timeout);
  static bool killed_by(int status, int sig) { return status == 128 + sig; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool at_end_ = false;
  std::string buffer_;
  int exit_status_ = -1;
};

struct Completed {
  int status = -1;  // as ChildProcess::wait; -1 when it was killed for running past timeout
  std::vector<std::string> lines;  // its stdout
};

// Runs binary with args to completion, at most timeout (then SIGKILLs it).
Completed run_to_completion(const std::string& binary, const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout);

}  // namespace cellfleet::testing
