#include "omni/predict/propensity_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

#include "omni/common/status.h"

namespace omni::predict {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Row indices by descending score; equal scores keep row order.
std::vector<int64_t> OrderByScore(std::span<const double> scores) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  return order;
}

int64_t Positives(std::span<const float> labels) {
  int64_t p = 0;
  for (float y : labels) p += y > 0.5f;
  return p;
}

}  // namespace

double RocAuc(std::span<const float> labels, std::span<const double> scores) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t pos = Positives(labels);
  const int64_t neg = n - pos;
  if (pos == 0 || neg == 0) return kNaN;
  // Sorting (score, label) pairs in place rather than indices into the two
  // arrays: XGBoost's early stopping computes this every boosting round, and
  // the indirect sort's cache misses were a fifth of a Hillstrom fit.
  // And by an LSD radix sort on the scores' order-preserving bit patterns,
  // skipping the bytes every score shares (most of the high ones): on the
  // 12,800 validation rows of a Hillstrom fit it is several times faster
  // than std::sort's comparisons, which were ~10% of the whole fit.
  struct Row {
    uint64_t key;  // order-preserving image of the score's bits
    double score;
    bool positive;
  };
  std::vector<Row> rows(static_cast<size_t>(n)), scratch(static_cast<size_t>(n));
  std::array<std::array<uint32_t, 256>, 8> counts{};
  for (int64_t i = 0; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, &scores[i], sizeof bits);
    // Negative doubles order reversed by their bits: flip them all; positive
    // ones just above every negative: set the sign bit.
    const uint64_t key = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
    rows[i] = {key, scores[i], labels[i] > 0.5f};
    for (int b = 0; b < 8; ++b) ++counts[b][(key >> (8 * b)) & 0xff];
  }
  for (int b = 0; b < 8; ++b) {
    std::array<uint32_t, 256>& c = counts[b];
    if (c[(rows[0].key >> (8 * b)) & 0xff] == static_cast<uint32_t>(n)) continue;  // one bucket: order kept
    uint32_t offset = 0;
    for (uint32_t& v : c) offset += std::exchange(v, offset);
    for (const Row& r : rows) scratch[c[(r.key >> (8 * b)) & 0xff]++] = r;
    rows.swap(scratch);
  }
  // Sum of the (tie-averaged, 1-based) ranks of the positives.
  double rank_sum = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    int64_t pos_in_tie = 0;
    while (j < n && rows[j].score == rows[i].score) pos_in_tie += rows[j++].positive;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);
    rank_sum += avg_rank * static_cast<double>(pos_in_tie);
    i = j;
  }
  const double p = static_cast<double>(pos);
  return (rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(neg));
}

RunningAuc::RunningAuc(std::span<const float> labels)
    : labels_(labels),
      positives_(Positives(labels)),
      margin_(labels.size(), 0.0),
      order_(labels.size()),
      scratch_(labels.size()),
      group_(labels.size()) {
  for (size_t i = 0; i < order_.size(); ++i) {  // all margins 0: any order
    order_[i] = {0.0, static_cast<uint32_t>(i), labels[i] > 0.5f ? 1u : 0u};
  }
}

double RunningAuc::Add(std::span<const float> delta) {
  const size_t n = margin_.size();
  OMNI_CHECK(delta.size() == n);
  // Group of each row by its output's bit pattern: an open-addressing table
  // (the outputs come in no order, so a search of the few values so far
  // mispredicts a branch on most rows).
  constexpr uint32_t kSlots = 64;  // > 2 * kMaxGroups: probes stay short
  std::array<uint32_t, kSlots> key{};
  std::array<int8_t, kSlots> slot_group;
  slot_group.fill(-1);
  int groups = 0;
  for (size_t i = 0; i < n; ++i) {
    margin_[i] += delta[i];
    if (!ordered_) continue;
    uint32_t bits;
    std::memcpy(&bits, &delta[i], sizeof bits);
    uint32_t slot = (bits * 0x9E3779B1u) >> 26;
    while (slot_group[slot] >= 0 && key[slot] != bits) slot = (slot + 1) % kSlots;
    if (slot_group[slot] < 0) {
      if (groups == kMaxGroups || !std::isfinite(delta[i])) {
        ordered_ = false;
        continue;
      }
      key[slot] = bits;
      slot_group[slot] = static_cast<int8_t>(groups++);
    }
    group_[i] = static_cast<uint8_t>(slot_group[slot]);
  }
  if (!ordered_) return RocAuc(labels_, margin_);
  if (n == 0 || positives_ == 0 || positives_ == static_cast<int64_t>(n)) return kNaN;
  // The rows of each group, in the old order, with their new margins: runs
  // already in order (adding one double to both sides of a <= keeps it).
  std::array<uint32_t, kMaxGroups + 1> start{};
  for (size_t i = 0; i < n; ++i) ++start[group_[i] + 1];
  for (int g = 0; g < groups; ++g) start[g + 1] += start[g];
  std::array<uint32_t, kMaxGroups> fill{};
  for (int g = 0; g < groups; ++g) fill[g] = start[g];
  for (Entry e : order_) {
    e.margin = margin_[e.row];
    scratch_[fill[group_[e.row]]++] = e;
  }
  // Merge neighbouring runs until one is left.
  std::vector<Entry>*from = &scratch_, *to = &order_;
  std::array<uint32_t, kMaxGroups + 1> bounds{}, next{};
  std::copy(start.begin(), start.begin() + groups + 1, bounds.begin());
  int runs = groups;
  const auto by_margin = [](const Entry& a, const Entry& b) { return a.margin < b.margin; };
  while (runs > 1) {
    int k = 0, out = 0;
    for (; k + 1 < runs; k += 2) {
      std::merge(from->begin() + bounds[k], from->begin() + bounds[k + 1], from->begin() + bounds[k + 1],
                 from->begin() + bounds[k + 2], to->begin() + bounds[k], by_margin);
      next[out++] = bounds[k];
    }
    if (k < runs) {  // an odd run out: copied as it is
      std::copy(from->begin() + bounds[k], from->begin() + bounds[k + 1], to->begin() + bounds[k]);
      next[out++] = bounds[k];
    }
    next[out] = bounds[runs];
    runs = out;
    bounds = next;
    std::swap(from, to);
  }
  if (from != &order_) order_.swap(scratch_);
  // Sum of the (tie-averaged, 1-based) ranks of the positives, as RocAuc.
  double rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    int64_t pos_in_tie = 0;
    const double m = order_[i].margin;
    while (j < n && order_[j].margin == m) pos_in_tie += order_[j++].positive;
    rank_sum += 0.5 * static_cast<double>(i + 1 + j) * static_cast<double>(pos_in_tie);
    i = j;
  }
  const double p = static_cast<double>(positives_);
  return (rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(static_cast<int64_t>(n) - positives_));
}

double AveragePrecision(std::span<const float> labels, std::span<const double> scores) {
  const int64_t pos = Positives(labels);
  if (pos == 0) return kNaN;
  std::vector<int64_t> order = OrderByScore(scores);
  double ap = 0, prev_recall = 0;
  int64_t tp = 0, seen = 0;
  const int64_t n = static_cast<int64_t>(order.size());
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) tp += labels[order[j++]] > 0.5f;
    seen = j;
    const double recall = static_cast<double>(tp) / static_cast<double>(pos);
    const double precision = static_cast<double>(tp) / static_cast<double>(seen);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
    i = j;
  }
  return ap;
}

double LogLoss(std::span<const float> labels, std::span<const double> scores) {
  if (labels.empty()) return kNaN;
  constexpr double eps = 1e-15;
  double s = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double p = std::clamp(scores[i], eps, 1 - eps);
    s -= labels[i] > 0.5f ? std::log(p) : std::log(1 - p);
  }
  return s / static_cast<double>(labels.size());
}

double Brier(std::span<const float> labels, std::span<const double> scores) {
  if (labels.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double d = scores[i] - (labels[i] > 0.5f ? 1.0 : 0.0);
    s += d * d;
  }
  return s / static_cast<double>(labels.size());
}

double BestF1Threshold(std::span<const float> labels, std::span<const double> scores) {
  const int64_t pos = Positives(labels);
  if (pos == 0 || labels.empty()) return 0.5;
  std::vector<int64_t> order = OrderByScore(scores);
  const int64_t n = static_cast<int64_t>(order.size());
  double best_f1 = -1, best_t = 0.5;
  int64_t tp = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) tp += labels[order[j++]] > 0.5f;
    // Predicting positive for every row scored >= this score.
    const double f1 = 2.0 * static_cast<double>(tp) / static_cast<double>(j + pos);
    if (f1 > best_f1) {
      best_f1 = f1;
      best_t = scores[order[i]];
    }
    i = j;
  }
  return best_t;
}

BinaryMetrics ComputeMetrics(std::span<const float> labels, std::span<const double> scores, double threshold) {
  BinaryMetrics m;
  m.rows = static_cast<int64_t>(labels.size());
  m.positives = Positives(labels);
  m.base_rate = m.rows ? static_cast<double>(m.positives) / static_cast<double>(m.rows) : kNaN;
  m.roc_auc = RocAuc(labels, scores);
  m.average_precision = AveragePrecision(labels, scores);
  m.log_loss = LogLoss(labels, scores);
  m.brier = Brier(labels, scores);
  m.threshold = threshold;
  int64_t correct = 0, tp = 0, predicted = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool yes = scores[i] >= threshold;
    const bool y = labels[i] > 0.5f;
    correct += yes == y;
    predicted += yes;
    tp += yes && y;
  }
  m.accuracy = m.rows ? static_cast<double>(correct) / static_cast<double>(m.rows) : kNaN;
  m.precision = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0;
  m.recall = m.positives ? static_cast<double>(tp) / static_cast<double>(m.positives) : 0;
  m.majority_accuracy = m.rows ? std::max(m.base_rate, 1 - m.base_rate) : kNaN;
  if (m.rows > 0 && m.positives > 0) {
    std::vector<int64_t> order = OrderByScore(scores);
    const int64_t top = (m.rows + 9) / 10;
    int64_t top_pos = 0;
    for (int64_t i = 0; i < top; ++i) top_pos += labels[order[i]] > 0.5f;
    m.lift_top_decile = (static_cast<double>(top_pos) / static_cast<double>(top)) / m.base_rate;
  } else {
    m.lift_top_decile = kNaN;
  }
  return m;
}

std::vector<ReliabilityBin> ReliabilityTable(std::span<const float> labels, std::span<const double> scores,
                                             int bins) {
  std::vector<ReliabilityBin> out(bins);
  std::vector<double> sum_p(bins, 0), sum_y(bins, 0);
  for (int b = 0; b < bins; ++b) {
    out[b].lower = static_cast<double>(b) / bins;
    out[b].upper = static_cast<double>(b + 1) / bins;
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    // (lower, upper] as sklearn's calibration_curve: the edges are k * (1 /
    // bins) as numpy's linspace computes them, and a score sits in the bin
    // of the edges strictly below it.
    int b = 0;
    const double step = 1.0 / bins;
    for (int k = 1; k < bins; ++k) b += scores[i] > k * step;
    ++out[b].count;
    sum_p[b] += scores[i];
    sum_y[b] += labels[i] > 0.5f;
  }
  for (int b = 0; b < bins; ++b) {
    if (out[b].count == 0) continue;
    out[b].mean_predicted = sum_p[b] / static_cast<double>(out[b].count);
    out[b].observed_rate = sum_y[b] / static_cast<double>(out[b].count);
  }
  return out;
}

std::vector<LiftRow> LiftTable(std::span<const float> labels, std::span<const double> scores) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t pos = Positives(labels);
  std::vector<LiftRow> out;
  if (n == 0) return out;
  const double base = static_cast<double>(pos) / static_cast<double>(n);
  std::vector<int64_t> order = OrderByScore(scores);
  int64_t cumulative = 0;
  for (int d = 0; d < 10; ++d) {
    LiftRow r;
    r.decile = d + 1;
    const int64_t lo = d * n / 10, hi = (d + 1) * n / 10;
    r.count = hi - lo;
    for (int64_t i = lo; i < hi; ++i) r.positives += labels[order[i]] > 0.5f;
    cumulative += r.positives;
    r.rate = r.count ? static_cast<double>(r.positives) / static_cast<double>(r.count) : 0;
    r.lift = base > 0 ? r.rate / base : kNaN;
    r.cumulative_capture = pos ? static_cast<double>(cumulative) / static_cast<double>(pos) : kNaN;
    out.push_back(r);
  }
  return out;
}

}  // namespace omni::predict
