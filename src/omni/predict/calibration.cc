#include "omni/predict/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "omni/predict/propensity_metrics.h"

namespace omni::predict {
namespace {

double Logit(double p) {
  p = std::clamp(p, 1e-12, 1 - 1e-12);
  return std::log(p / (1 - p));
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// A block of only non-buyers must not say "never" (infinite log loss on the
// first buyer in it).
constexpr double kIsotonicClip = 1e-4;

}  // namespace

Calibrator Calibrator::Fit(Method method, std::span<const float> labels, std::span<const double> scores) {
  Calibrator c;
  c.method_ = method;
  const size_t n = labels.size();
  if (method == Method::kPlatt) {
    // Newton on the two parameters; a few iterations suffice (convex).
    double a = 1, b = 0;
    std::vector<double> z(n);
    for (size_t i = 0; i < n; ++i) z[i] = Logit(scores[i]);
    for (int it = 0; it < 50; ++it) {
      double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
      for (size_t i = 0; i < n; ++i) {
        const double p = Sigmoid(a * z[i] + b);
        const double r = p - (labels[i] > 0.5f ? 1.0 : 0.0);
        const double w = p * (1 - p);
        ga += r * z[i];
        gb += r;
        haa += w * z[i] * z[i];
        hab += w * z[i];
        hbb += w;
      }
      const double det = haa * hbb - hab * hab;
      if (std::abs(det) < 1e-18) break;
      const double da = (hbb * ga - hab * gb) / det;
      const double db = (haa * gb - hab * ga) / det;
      a -= da;
      b -= db;
      if (std::abs(da) + std::abs(db) < 1e-10) break;
    }
    c.a_ = a;
    c.b_ = b;
  } else if (method == Method::kIsotonic) {
    // PAV over scores sorted ascending; equal scores are pooled first.
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return scores[i] < scores[j]; });
    struct Block {
      double min_x, max_x, sum_y, w;
    };
    std::vector<Block> blocks;
    for (size_t k = 0; k < n;) {
      size_t m = k;
      Block b{scores[order[k]], scores[order[k]], 0, 0};
      while (m < n && scores[order[m]] == scores[order[k]]) {
        b.sum_y += labels[order[m]] > 0.5f;
        b.w += 1;
        ++m;
      }
      blocks.push_back(b);
      while (blocks.size() > 1) {
        Block& last = blocks.back();
        Block& prev = blocks[blocks.size() - 2];
        if (prev.sum_y / prev.w <= last.sum_y / last.w) break;
        prev.max_x = last.max_x;
        prev.sum_y += last.sum_y;
        prev.w += last.w;
        blocks.pop_back();
      }
      k = m;
    }
    // Knots at each block's first and last score, as sklearn keeps them:
    // flat within a block, linear between blocks.
    for (const Block& b : blocks) {
      c.x_.push_back(b.min_x);
      c.y_.push_back(b.sum_y / b.w);
      if (b.max_x > b.min_x) {
        c.x_.push_back(b.max_x);
        c.y_.push_back(b.sum_y / b.w);
      }
    }
    c.lo_ = kIsotonicClip;
    c.hi_ = 1 - kIsotonicClip;
  }
  return c;
}

StatusOr<Calibrator> Calibrator::FromParts(const std::string& method, double a, double b, std::vector<double> x,
                                           std::vector<double> y) {
  Calibrator c;
  if (method == "none") {
    c.method_ = Method::kNone;
  } else if (method == "platt") {
    c.method_ = Method::kPlatt;
    c.a_ = a;
    c.b_ = b;
  } else if (method == "isotonic") {
    if (x.empty() || x.size() != y.size()) return InvalidArgument("isotonic calibration without knots");
    c.method_ = Method::kIsotonic;
    c.lo_ = kIsotonicClip;
    c.hi_ = 1 - kIsotonicClip;
    c.x_ = std::move(x);
    c.y_ = std::move(y);
  } else {
    return InvalidArgument("unknown calibration method '" + method + "'");
  }
  return c;
}

double Calibrator::Apply(double s) const {
  switch (method_) {
    case Method::kNone:
      return s;
    case Method::kPlatt:
      return Sigmoid(a_ * Logit(s) + b_);
    case Method::kIsotonic: {
      double v;
      if (s <= x_.front()) {
        v = y_.front();
      } else if (s >= x_.back()) {
        v = y_.back();
      } else {
        const size_t hi = static_cast<size_t>(std::upper_bound(x_.begin(), x_.end(), s) - x_.begin());
        const size_t lo = hi - 1;
        const double t = (s - x_[lo]) / (x_[hi] - x_[lo]);
        v = y_[lo] + t * (y_[hi] - y_[lo]);
      }
      return std::clamp(v, lo_, hi_);
    }
  }
  return s;
}

std::string Calibrator::method_name() const {
  switch (method_) {
    case Method::kNone:
      return "none";
    case Method::kPlatt:
      return "platt";
    case Method::kIsotonic:
      return "isotonic";
  }
  return "none";
}

CalibrationChoice ChooseCalibration(std::span<const float> labels, std::span<const double> scores, uint64_t seed) {
  const size_t n = labels.size();
  constexpr int kFolds = 5;
  std::vector<int> fold(n);
  for (size_t i = 0; i < n; ++i) fold[i] = static_cast<int>(i % kFolds);
  std::mt19937_64 rng(seed);
  std::shuffle(fold.begin(), fold.end(), rng);
  const Calibrator::Method methods[3] = {Calibrator::Method::kNone, Calibrator::Method::kPlatt,
                                         Calibrator::Method::kIsotonic};
  double loss[3] = {0, 0, 0};
  for (int m = 0; m < 3; ++m) {
    std::vector<double> out(n);
    for (int f = 0; f < kFolds; ++f) {
      std::vector<float> fit_y;
      std::vector<double> fit_s;
      for (size_t i = 0; i < n; ++i) {
        if (fold[i] != f) {
          fit_y.push_back(labels[i]);
          fit_s.push_back(scores[i]);
        }
      }
      Calibrator c = Calibrator::Fit(methods[m], fit_y, fit_s);
      for (size_t i = 0; i < n; ++i) {
        if (fold[i] == f) out[i] = c.Apply(scores[i]);
      }
    }
    loss[m] = LogLoss(labels, out);
  }
  int best = 0;
  for (int m = 1; m < 3; ++m) {
    if (loss[m] < loss[best]) best = m;
  }
  CalibrationChoice choice;
  choice.calibrator = Calibrator::Fit(methods[best], labels, scores);
  choice.cv_log_loss_none = loss[0];
  choice.cv_log_loss_platt = loss[1];
  choice.cv_log_loss_isotonic = loss[2];
  return choice;
}

}  // namespace omni::predict
