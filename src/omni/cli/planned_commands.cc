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

void AddPlannedCommands(CLI::App& app) {
  for (const auto& p : kPlanned) {
    app.add_subcommand(p.name, std::string(p.description) + " (not available yet)");
  }
}

std::string PlannedCommandIn(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--data" || a == "--format" || a == "--log-level") {
      ++i;  // skip the flag's value
      continue;
    }
    if (a.starts_with("-")) continue;
    for (const auto& p : kPlanned) {
      if (a == p.name) return p.name;
    }
    return "";
  }
  return "";
}

}  // namespace omni::cli
