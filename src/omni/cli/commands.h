// Registration of each subcommand on the CLI11 app. Each Add* wires its flags
// and registers the function to run when that (sub)command is chosen; Run()
// calls the most specific chosen one after the whole line is parsed, so
// global flags given after the subcommand (`omni import f --format json`)
// are in effect.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "omni/cli/context.h"

namespace omni::cli {

// A nested command (`demo generate`) is registered after its parent.
using CommandRegistry = std::vector<std::pair<CLI::App*, std::function<Status()>>>;

void AddImportCommand(CLI::App& app, Context& ctx, CommandRegistry& registry);
void AddQuarantineCommand(CLI::App& app, Context& ctx, CommandRegistry& registry);
void AddStatusCommand(CLI::App& app, Context& ctx, CommandRegistry& registry);
void AddDemoCommand(CLI::App& app, Context& ctx, CommandRegistry& registry);
// customers resolve | explain | split | forget | evaluate | show (customers_command.cc)
void AddCustomersCommand(CLI::App& app, Context& ctx, CommandRegistry& registry);
// profiles build · segments create|list|export|cluster · clv fit (profile_commands.cc)
void AddProfileCommands(CLI::App& app, Context& ctx, CommandRegistry& registry);
// train SPEC · recommend IDENTIFIER · evaluate SPEC --protocol ... (recommend_commands.cc)
void AddRecommendCommands(CLI::App& app, Context& ctx, CommandRegistry& registry);
// features build · behaviour window (features_command.cc)
void AddFeaturesCommand(CLI::App& app, Context& ctx, CommandRegistry& registry);
// propensity train | score | report (propensity_commands.cc)
void AddPropensityCommands(CLI::App& app, Context& ctx, CommandRegistry& registry);
// serve (serve_command.cc)
void AddServeCommand(CLI::App& app, Context& ctx, CommandRegistry& registry);
// Commands of DESIGN.md not built yet: listed in --help; running one answers
// "not available yet" with exit code 2, whatever its arguments. Names the app
// already has (built since) are skipped; returns the names added.
std::vector<std::string> AddPlannedCommands(CLI::App& app);
// The planned command named by argv (the first word that is not a global
// flag or its value), or "" when argv names none.
std::string PlannedCommandIn(const std::vector<std::string>& planned, int argc, char** argv);

}  // namespace omni::cli
