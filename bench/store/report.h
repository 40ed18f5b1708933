#pragma once
// The benchmark's output: one table of measurements, notes comparing them with their ceilings,
// and the same as JSON for machines.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "measure.h"

namespace cellfleet::bench {

// A measured figure as a fraction of its ceiling, e.g. put_many items/s over raw SQLite's.
struct Ratio {
  std::string what;
  double measured = 0;
  double ceiling = 0;
  double value() const { return ceiling > 0 ? measured / ceiling : 0; }
};

struct Report {
  std::string title;   // first line: what ran, when, for how long
  std::string legend;  // printed under the title: how to read the rows
  std::vector<Measurement> rows;
  std::vector<Ratio> ratios;
  std::vector<std::string> notes;  // printed after the ratios
};

const Measurement* find_row(const Report& report, const std::string& backend,
                            const std::string& operation);

void print_report(const Report& report);

// Writes the report to path as JSON. Throws std::runtime_error when the file cannot be written.
void write_json_report(const Report& report, const std::string& path);

}  // namespace cellfleet::bench
