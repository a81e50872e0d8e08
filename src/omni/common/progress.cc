#include "omni/common/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace omni {

ProgressReporter::ProgressReporter(std::string label, std::string unit, int64_t total)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string HumanCount(double n) {
  if (n >= 1e9) return fmt::format("{:.2f}G", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1e4) return fmt::format("{:.0f}k", n / 1e3);
  return fmt::format("{:.0f}", n);
}

void ProgressReporter::Update(int64_t done, int64_t items) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? items / secs : 0;
  std::string line = fmt::format("\r{}: {} {}  {}/s", label_, HumanCount(static_cast<double>(items)),
                                 unit_, HumanCount(rate));
  if (total_ > 0 && done > 0) {
    double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    int eta = frac > 0 ? static_cast<int>(secs / frac - secs) : 0;
    line += fmt::format("  {:3.0f}%  ETA {}:{:02d}", frac * 100, eta / 60, eta % 60);
  }
  line += "   ";
  std::fputs(line.c_str(), stderr);
  drawn_ = true;
}

void ProgressReporter::Finish() {
  if (drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

}  // namespace omni
