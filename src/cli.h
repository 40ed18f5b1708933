#pragma once
// Command-line parsing for the cellfleet binary: `cellfleet COMMAND [--flag value]...`.

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace cellfleet::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Command {
  std::string name;
  std::string summary;
  std::string usage;                   // the full --help text
  std::set<std::string> value_flags;   // flags that take a value: "--config"
  std::set<std::string> switch_flags;  // flags without a value: "--json"
  std::size_t max_arguments;           // plain arguments after the command: `backup PATH`
};

struct Invocation {
  std::string command;
  bool help = false;
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
  std::vector<std::string> arguments;  // plain arguments, in order

  const std::string* value(const std::string& flag) const {
    auto it = values.find(flag);
    return it == values.end() ? nullptr : &it->second;
  }
};

// Throws UsageError for an unknown command or flag, or a flag missing its value.
Invocation parse(const std::vector<std::string>& args, const std::vector<Command>& commands);

std::string overview(const std::vector<Command>& commands);

}  // namespace cellfleet::cli
