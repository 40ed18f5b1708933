#pragma once
// The real `cellfleet serve`, started as a child process on a free loopback port with its own
// data directory, its log lines collected for assertions.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cellfleet::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class ServerProcess {
 public:
  // Starts `cellfleet serve --listen 127.0.0.1:0 --data-dir <temp>` plus extra_args, with the
  // extra environment variables set, and waits for its "listening" log line.
  explicit ServerProcess(std::vector<std::string> extra_args = {},
                         std::map<std::string, std::string> env = {});
  ~ServerProcess();  // SIGKILLs the server if it still runs

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& data_dir() const { return data_.path(); }

  // Sends a signal; returns the exit status once it exits, or -1 if it has not within timeout.
  int signal_and_wait(int sig, std::chrono::milliseconds timeout);
  bool running();
  // Every stdout line so far.
  std::vector<std::string> log_lines();
  // Waits (up to timeout) for a log line containing needle; returns it or "".
  std::string wait_for_log(const std::string& needle, std::chrono::milliseconds timeout);

 private:
  TempDir data_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::uint16_t port_ = 0;
  int exit_status_ = -1;
  std::mutex mutex_;
  std::vector<std::string> lines_;
  std::thread reader_;
};

// Runs the cellfleet binary with args to completion; returns {exit status, stdout + stderr}.
std::pair<int, std::string> run_cellfleet(const std::vector<std::string>& args,
                                          const std::map<std::string, std::string>& env = {});

}  // namespace cellfleet::testing
