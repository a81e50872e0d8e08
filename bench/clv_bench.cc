// The customer-lifetime-value step of `omni profiles build` (ComputeClv after
// it has gathered the purchases), stage by stage, on a purchase history:
//   clv_bench --events CSV [--utc-offset-min M] [--as-of-ms MS] [--repeat N] [--threads T] [--out FILE]
//   clv_bench --history FILE [--repeat N] [--threads T] [--out FILE]
// CSV is what `omni profiles build --export-events CSV` writes: its purchase
// rows (amount = quantity x price) grouped by customer_key, the calibration
// end the last event's day unless --as-of-ms; M is the build's
// clv.utc_offset_min. It holds every attributed customer, anonymous ones too,
// which the build leaves out of the fit: on Online Retail that is 6.5k
// customers instead of the build's 4.3k (the demo's are all identified).
// FILE is an exact recording: its first line is "calibration_end_ms
// utc_offset_ms unit" (unit 0 = day, 1 = week), every other line "customer
// ts_ms amount" (0-based ascending customers).
// The stages are the builder's: BuildRfmSummary, FitBgNbdForScoring, P(alive)
// and E[purchases in 90 days] per customer (BgNbdPredictions), FitGammaGamma,
// CustomerLifetimeValues. Wall seconds per stage, fastest of --repeat runs
// (default 5), and the process's CPU seconds per stage (least of the runs; on
// a loaded machine the steadier figure).
// --threads sets FitOptions::threads (default 2, as the profile build).
// --out writes the fitted parameters and every customer's predictions with 17
// significant digits, for comparing two builds (before/after a change).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "omni/profile/clv.h"

namespace {

using namespace omni::profile;

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Recorded {
  PurchaseHistory history;
  RfmOptions options;
};

bool Load(const char* path, Recorded& r) {
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  long long end_ms = 0, offset_ms = 0;
  int unit = 0;
  if (std::fscanf(f, "%lld %lld %d", &end_ms, &offset_ms, &unit) != 3) return false;
  r.options.calibration_end_ms = end_ms;
  r.options.utc_offset_ms = offset_ms;
  r.options.unit = unit == 0 ? TimeUnit::kDay : TimeUnit::kWeek;
  long long customer = 0, ts = 0;
  double amount = 0;
  PurchaseHistory& h = r.history;
  while (std::fscanf(f, "%lld %lld %lf", &customer, &ts, &amount) == 3) {
    while (static_cast<long long>(h.offsets.size()) <= customer) {
      h.offsets.push_back(static_cast<int64_t>(h.ts_ms.size()));
    }
    h.ts_ms.push_back(ts);
    h.amount.push_back(amount);
  }
  h.offsets.push_back(static_cast<int64_t>(h.ts_ms.size()));
  std::fclose(f);
  return true;
}

// Splits one line of the export at commas (its fields here never hold one
// quoted: keys, numbers and type names).
bool LoadExport(const char* path, int utc_offset_min, int64_t as_of_ms, Recorded& r) {
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  std::map<std::string, std::vector<std::pair<int64_t, double>>> by_customer;
  char buf[4096];
  int64_t max_ts = 0;
  bool header = true;
  while (std::fgets(buf, sizeof buf, f) != nullptr) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> field;
    std::string cur;
    for (const char* c = buf; *c != 0 && *c != '\n'; ++c) {
      if (*c == ',') {
        field.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(*c);
      }
    }
    field.push_back(cur);
    if (field.size() < 9) continue;
    const int64_t ts = std::atoll(field[2].c_str());
    max_ts = std::max(max_ts, ts);
    if (field[4] != "purchase") continue;
    const double quantity = field[6].empty() ? 1.0 : std::atof(field[6].c_str());
    const double price = field[7].empty() ? 0.0 : std::atof(field[7].c_str());
    by_customer[field[0]].emplace_back(ts, std::max(0.0, quantity * price));
  }
  std::fclose(f);
  PurchaseHistory& h = r.history;
  for (const auto& [key, purchases] : by_customer) {
    for (const auto& [ts, amount] : purchases) {
      h.ts_ms.push_back(ts);
      h.amount.push_back(amount);
    }
    h.offsets.push_back(static_cast<int64_t>(h.ts_ms.size()));
  }
  r.options.calibration_end_ms = as_of_ms > 0 ? as_of_ms : max_ts;
  r.options.utc_offset_ms = int64_t{utc_offset_min} * 60'000;
  r.options.unit = TimeUnit::kDay;
  return true;
}

struct Output {
  BgNbdFit bg;
  GammaGammaFit gg;
  std::vector<double> alive, expected, clv;
};

// As ProfileBuilder::State::ComputeClv (defaults: 90-day expected purchases,
// 12-month CLV at 1% a month).
constexpr double kExpectedPurchasesDays = 90;

}  // namespace

int main(int argc, char** argv) {
  const char* history_path = nullptr;
  const char* events_path = nullptr;
  const char* out_path = nullptr;
  int repeat = 5;
  FitOptions fit_options;
  int utc_offset_min = 0;
  int64_t as_of_ms = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--history")) history_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--events")) events_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--utc-offset-min")) utc_offset_min = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--as-of-ms")) as_of_ms = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--out")) out_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) fit_options.threads = std::atoi(argv[i + 1]);
  }
  Recorded rec;
  const bool loaded = history_path != nullptr   ? Load(history_path, rec)
                      : events_path != nullptr ? LoadExport(events_path, utc_offset_min, as_of_ms, rec)
                                               : false;
  if (!loaded) {
    std::fprintf(stderr,
                 "usage: clv_bench (--events CSV [--utc-offset-min M] [--as-of-ms MS] | --history FILE) "
                 "[--repeat N] [--threads T] [--out FILE]\n");
    return 2;
  }
  const char* kStages[] = {"rfm_summary", "bgnbd_fit", "bgnbd_predict", "gamma_gamma_fit", "clv", "total"};
  constexpr int kStageCount = 6;
  std::vector<double> best(kStageCount, HUGE_VAL), best_cpu(kStageCount, HUGE_VAL);
  Output out;
  size_t rows = 0;
  const double cpu0 = CpuSeconds();
  for (int run = 0; run < std::max(repeat, 1); ++run) {
    double s[kStageCount] = {}, c[kStageCount] = {};
    auto t = std::chrono::steady_clock::now();
    const auto start = t;
    double cpu_t = CpuSeconds();
    const double cpu_start = cpu_t;
    int stage = 0;
    auto lap = [&]() {
      const auto now = std::chrono::steady_clock::now();
      const double d = std::chrono::duration<double>(now - t).count();
      t = now;
      const double cpu_now = CpuSeconds();
      c[stage++] = cpu_now - cpu_t;
      cpu_t = cpu_now;
      return d;
    };
    omni::StatusOr<RfmSummary> summary = BuildRfmSummary(rec.history, rec.options);
    if (!summary.ok()) return std::fprintf(stderr, "%s\n", summary.status().ToString().c_str()), 1;
    s[0] = lap();
    std::string note;
    omni::StatusOr<BgNbdFit> bg = FitBgNbdForScoring(*summary, fit_options, &note);
    if (!bg.ok()) return std::fprintf(stderr, "%s\n", bg.status().ToString().c_str()), 1;
    s[1] = lap();
    const RfmSummary& sm = *summary;
    rows = sm.size();
    out.alive.assign(sm.size(), 0);
    out.expected.assign(sm.size(), 0);
    {
      omni::Status st = BgNbdPredictions(bg->params, kExpectedPurchasesDays, sm, out.alive, out.expected);
      if (!st.ok()) return std::fprintf(stderr, "%s\n", st.ToString().c_str()), 1;
    }
    s[2] = lap();
    omni::StatusOr<GammaGammaFit> gg = FitGammaGamma(sm, fit_options);
    if (!gg.ok()) return std::fprintf(stderr, "%s\n", gg.status().ToString().c_str()), 1;
    s[3] = lap();
    out.clv.assign(sm.size(), 0);
    omni::Status st = CustomerLifetimeValues(bg->params, gg->params, sm, ClvOptions{}, out.clv);
    if (!st.ok()) return std::fprintf(stderr, "%s\n", st.ToString().c_str()), 1;
    s[4] = lap();
    s[5] = std::chrono::duration<double>(t - start).count();
    c[5] = cpu_t - cpu_start;
    for (int k = 0; k < kStageCount; ++k) {
      best[k] = std::min(best[k], s[k]);
      best_cpu[k] = std::min(best_cpu[k], c[k]);
    }
    out.bg = *bg;
    out.gg = *gg;
  }
  const double cpu = CpuSeconds() - cpu0;
  std::printf("{\"customers\":%zu,\"bgnbd_distinct_rows\":%lld,\"gamma_gamma_distinct_rows\":%lld,"
              "\"bgnbd_evaluations\":%d,\"gamma_gamma_evaluations\":%d,\"runs\":%d,\"cpu_seconds_per_run\":%.4f",
              rows, static_cast<long long>(out.bg.report.distinct_rows),
              static_cast<long long>(out.gg.report.distinct_rows), out.bg.report.evaluations,
              out.gg.report.evaluations, repeat, cpu / std::max(repeat, 1));
  std::printf(",\"seconds\":{");
  for (int k = 0; k < kStageCount; ++k) std::printf("%s\"%s\":%.6f", k ? "," : "", kStages[k], best[k]);
  std::printf("},\"cpu_seconds\":{");
  for (int k = 0; k < kStageCount; ++k) std::printf("%s\"%s\":%.6f", k ? "," : "", kStages[k], best_cpu[k]);
  std::printf("}}\n");
  if (out_path != nullptr) {
    FILE* f = std::fopen(out_path, "w");
    if (f == nullptr) return std::fprintf(stderr, "cannot write %s\n", out_path), 1;
    const BgNbdParams& b = out.bg.params;
    const GammaGammaParams& g = out.gg.params;
    std::fprintf(f, "r %.17g\nalpha %.17g\na %.17g\nb %.17g\np %.17g\nq %.17g\nv %.17g\n", b.r, b.alpha, b.a, b.b,
                 g.p, g.q, g.v);
    std::fprintf(f, "bgnbd_ll %.17g\ngamma_gamma_ll %.17g\n", out.bg.report.log_likelihood,
                 out.gg.report.log_likelihood);
    for (size_t i = 0; i < out.clv.size(); ++i) {
      std::fprintf(f, "row %zu %.17g %.17g %.17g\n", i, out.alive[i], out.expected[i], out.clv[i]);
    }
    std::fclose(f);
  }
  return 0;
}
