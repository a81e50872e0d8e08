// Thin main: everything lives in the library so tests can drive it.
#include <cstdio>
#include <exception>

#include "omni/cli/cli.h"

int main(int argc, char** argv) {
  try {
    return omni::cli::Run(argc, argv);
  } catch (const std::exception& e) {
    // Reaching here is a bug: input problems are Status values.
    std::fprintf(stderr, "omni: internal error: %s\n", e.what());
    return 1;
  }
}
