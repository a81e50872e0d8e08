// Loads testdata/cdnow_summary.csv (see README.md beside it) for the CLV
// tests. The path is found from this header's own location, so the tests need
// no working directory or CMake definition.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "omni/common/status.h"
#include "omni/profile/clv.h"

namespace omni::profile::testing {

inline std::filesystem::path CdnowSummaryPath() {
  return std::filesystem::path(OMNI_SOURCE_DIR) / "src/omni/profile/testdata/cdnow_summary.csv";
}

// Row i is CDNOW sample customer ID i + 1.
inline StatusOr<RfmSummary> LoadCdnowSummary() {
  const std::filesystem::path path = CdnowSummaryPath();
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path.string());
  std::string line;
  if (!std::getline(in, line) || line != "x,t_x,T,monetary") {
    return InvalidArgument(path.string() + ": unexpected header");
  }
  RfmSummary s;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    double v[4];
    const char* p = line.c_str();
    for (int k = 0; k < 4; ++k) {
      char* end = nullptr;
      v[k] = std::strtod(p, &end);
      if (end == p || (k < 3 && *end != ',')) {
        return InvalidArgument(path.string() + ": bad line " + line);
      }
      p = end + 1;
    }
    s.x.push_back(v[0]);
    s.t_x.push_back(v[1]);
    s.T.push_back(v[2]);
    s.monetary.push_back(v[3]);
  }
  return s;
}

}  // namespace omni::profile::testing
