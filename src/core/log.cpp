#include "core/log.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace cellfleet {

namespace {
struct ThreadContext {
  std::string request_id;
  std::string org_id;
};
thread_local ThreadContext t_context;

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}
}  // namespace

bool parse_log_level(std::string_view text, LogLevel& out) {
  for (auto level : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (text == level_name(level)) {
      out = level;
      return true;
    }
  }
  return false;
}

Logger::Logger(LogLevel level, std::FILE* out) : level_(level), out_(out) {}

void Logger::log(LogLevel level, std::string_view msg, const nlohmann::json& fields) {
  if (!enabled(level)) return;
  nlohmann::json line = {{"time", utc_timestamp()}, {"level", level_name(level)}, {"msg", msg}};
  if (!t_context.request_id.empty()) line["request_id"] = t_context.request_id;
  if (!t_context.org_id.empty()) line["org_id"] = t_context.org_id;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line[key] = value;
  }
  // "replace" keeps a line valid JSON even if a field carries invalid UTF-8 from a client.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

LogScope::LogScope(std::string request_id) {
  t_context.request_id = std::move(request_id);
  t_context.org_id.clear();
}

LogScope::~LogScope() {
  t_context.request_id.clear();
  t_context.org_id.clear();
}

void LogScope::set_org_id(std::string org_id) {
  t_context.org_id = std::move(org_id);
}

}  // namespace cellfleet
