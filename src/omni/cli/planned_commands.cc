#include <string_view>

#include "omni/cli/commands.h"

namespace omni::cli {
namespace {

struct Planned {
  const char* name;
  const char* description;
};
constexpr Planned kPlanned[] = {
    {"features", "build the point-in-time feature table"},
    {"propensity", "train | score | report purchase propensity"},
    {"serve", "HTTP JSON API and dashboard"},
};

}  // namespace

std::vector<std::string> AddPlannedCommands(CLI::App& app) {
  std::vector<std::string> added;
  for (const auto& p : kPlanned) {
    const std::string name = p.name;
    if (!app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == name; }).empty()) continue;
    app.add_subcommand(p.name, std::string(p.description) + " (not available yet)");
    added.emplace_back(p.name);
  }
  return added;
}

std::string PlannedCommandIn(const std::vector<std::string>& planned, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--data" || a == "--format" || a == "--log-level") {
      ++i;  // skip the flag's value
      continue;
    }
    if (a.starts_with("-")) continue;
    for (const auto& p : planned) {
      if (a == p) return p;
    }
    return "";
  }
  return "";
}

}  // namespace omni::cli
