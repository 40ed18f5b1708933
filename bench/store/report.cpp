#include "report.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace cellfleet::bench {

const Measurement* find_row(const Report& report, const std::string& backend,
                            const std::string& operation) {
  for (const auto& row : report.rows) {
    if (row.backend == backend && row.operation == operation) return &row;
  }
  return nullptr;
}

void print_report(const Report& report) {
  fmt::print("\n{}\n", report.title);
  if (!report.legend.empty()) fmt::print("{}\n", report.legend);
  fmt::print("\n");
  constexpr const char* kRow = "{:<26} {:<26} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}\n";
  fmt::print(kRow, "backend", "operation", "ops/s", "items/s", "p50 us", "p90 us", "p99 us",
             "max us", "errors");
  for (const auto& row : report.rows) {
    fmt::print(kRow, row.backend, row.operation, fmt::format("{:.0f}", row.ops_per_second),
               fmt::format("{:.0f}", row.items_per_second()), fmt::format("{:.0f}", row.p50_us),
               fmt::format("{:.0f}", row.p90_us), fmt::format("{:.0f}", row.p99_us),
               fmt::format("{:.0f}", row.max_us), row.errors);
  }
  if (!report.ratios.empty()) fmt::print("\n");
  for (const auto& ratio : report.ratios) {
    fmt::print("{}: {:.0f} / {:.0f} = {:.2f}\n", ratio.what, ratio.measured, ratio.ceiling,
               ratio.value());
  }
  if (!report.notes.empty()) fmt::print("\n");
  for (const auto& note : report.notes) fmt::print("{}\n", note);
  for (const auto& row : report.rows) {
    if (row.errors > 0) {
      fmt::print("first error of {} / {}: {}\n", row.backend, row.operation, row.first_error);
    }
  }
  std::fflush(stdout);
}

void write_json_report(const Report& report, const std::string& path) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : report.rows) {
    rows.push_back(
        {{"backend", row.backend},
         {"operation", row.operation},
         {"items_per_op", row.items_per_op},
         {"threads", row.threads},
         {"ops", row.ops},
         {"errors", row.errors},
         {"first_error", row.first_error},
         {"wall_seconds", row.wall_seconds},
         {"ops_per_second", row.ops_per_second},
         {"items_per_second", row.items_per_second()},
         {"latency_us",
          {{"p50", row.p50_us}, {"p90", row.p90_us}, {"p99", row.p99_us}, {"max", row.max_us}}}});
  }
  nlohmann::json ratios = nlohmann::json::array();
  for (const auto& ratio : report.ratios) {
    ratios.push_back({{"what", ratio.what},
                      {"measured", ratio.measured},
                      {"ceiling", ratio.ceiling},
                      {"ratio", ratio.value()}});
  }
  const nlohmann::json document = {
      {"title", report.title}, {"rows", rows}, {"ratios", ratios}, {"notes", report.notes}};
  std::ofstream out(path);
  out << document.dump(2) << '\n';
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace cellfleet::bench
