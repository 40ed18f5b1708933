#include "cli.h"

#include <fmt/format.h>

namespace cellfleet::cli {

Invocation parse(const std::vector<std::string>& args, const std::vector<Command>& commands) {
  Invocation inv;
  if (args.empty()) throw UsageError("a command is required");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    inv.command = "help";
    return inv;
  }
  const Command* command = nullptr;
  for (const auto& c : commands) {
    if (c.name == args[0]) command = &c;
  }
  if (!command) throw UsageError(fmt::format("unknown command \"{}\"", args[0]));
  inv.command = command->name;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    if (flag == "--help" || flag == "-h") {
      inv.help = true;
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    if (flag.rfind("-", 0) != 0 && inv.arguments.size() < command->max_arguments) {
      inv.arguments.push_back(flag);
    } else if (command->switch_flags.contains(flag) && !inline_value) {
      inv.switches.insert(flag);
    } else if (command->value_flags.contains(flag)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) throw UsageError(fmt::format("{} needs a value", flag));
        value = args[++i];
      }
      inv.values[flag] = value;
    } else {
      throw UsageError(fmt::format("{}: unknown option \"{}\"", command->name, args[i]));
    }
  }
  return inv;
}

std::string overview(const std::vector<Command>& commands) {
  std::string out =
      "cellfleet: the back office of battery-rental operators.\n\n"
      "Usage: cellfleet COMMAND [OPTIONS]\n\nCommands:\n";
  for (const auto& c : commands) out += fmt::format("  {:<12} {}\n", c.name, c.summary);
  out += "\nRun `cellfleet COMMAND --help` for a command's options.\n";
  return out;
}

}  // namespace cellfleet::cli
