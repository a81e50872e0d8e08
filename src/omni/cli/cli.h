// The `omni` command line: git-style subcommands over the library (DESIGN.md,
// "Command line"). Every command takes --data DIR and --format table|json;
// with json exactly one JSON object goes to stdout and logs go to stderr.
// Exit codes: 0 success, 1 user error (bad input, unknown customer), 2 usage
// error (bad flags, a subcommand that is not available yet).
#pragma once

namespace omni::cli {

int Run(int argc, char** argv);

}  // namespace omni::cli
