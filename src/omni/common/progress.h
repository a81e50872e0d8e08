// Progress for long work (imports, generation): "events 1.2M  310k/s  43%
// ETA 0:08" redrawn in place on stderr, at most five times a second, only
// when stderr is a terminal — logs and pipes stay quiet, and stdout (which
// may carry the one JSON object of --format json) is never touched.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace omni {

class ProgressReporter {
 public:
  // `total` is the expected end value of `done` (bytes or records); 0 when unknown.
  ProgressReporter(std::string label, std::string unit, int64_t total);
  // Forces display on or off (tests, --quiet); default: isatty(stderr).
  void set_enabled(bool enabled) { enabled_ = enabled; }
  // `done` counts toward total; `items` is what the rate is reported in
  // (events), which may differ from done (bytes).
  void Update(int64_t done, int64_t items);
  // Clears the line.
  void Finish();

 private:
  std::string label_;
  std::string unit_;
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1.23M", "456k", "789".
std::string HumanCount(double n);

}  // namespace omni
