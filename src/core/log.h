#pragma once
// One JSON object per line on stdout, ready for CloudWatch Logs:
//   {"time":"2026-11-26T10:00:00.123Z","level":"info","msg":"...","request_id":"...",...}
// While a request is being handled, its request id (and organization, once known) is attached to
// every line logged on that thread, so a handler never has to pass them along.

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cellfleet {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Parses "debug" | "info" | "warn" | "error"; returns false for anything else.
bool parse_log_level(std::string_view text, LogLevel& out);

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::info, std::FILE* out = stdout);

  bool enabled(LogLevel level) const { return level >= level_; }
  void log(LogLevel level, std::string_view msg, const nlohmann::json& fields = nullptr);
  void debug(std::string_view msg, const nlohmann::json& fields = nullptr) {
    log(LogLevel::debug, msg, fields);
  }
  void info(std::string_view msg, const nlohmann::json& fields = nullptr) {
    log(LogLevel::info, msg, fields);
  }
  void warn(std::string_view msg, const nlohmann::json& fields = nullptr) {
    log(LogLevel::warn, msg, fields);
  }
  void error(std::string_view msg, const nlohmann::json& fields = nullptr) {
    log(LogLevel::error, msg, fields);
  }

 private:
  LogLevel level_;
  std::FILE* out_;
  std::mutex mutex_;
};

// Attaches a request's identity to every line this thread logs until the scope ends.
class LogScope {
 public:
  explicit LogScope(std::string request_id);
  ~LogScope();
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;
  // Called by the auth layer once the organization is known.
  static void set_org_id(std::string org_id);
};

}  // namespace cellfleet
