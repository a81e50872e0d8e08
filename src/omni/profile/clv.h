// Customer lifetime value: how often a customer will buy again and how much
// they will spend, from their purchase history alone. Pure computation: the
// caller brings the data (the profile stage reads it from the store).
//
// Three models, each in its own file:
//  - BG/NBD (clv_bgnbd.cc; Fader, Hardie & Lee 2005, "Counting your customers
//    the easy way: an alternative to the Pareto/NBD model", Marketing Science
//    24(2)). While "alive" a customer buys as a Poisson process with rate
//    lambda ~ Gamma(r, alpha); after each purchase they drop out with
//    probability p ~ Beta(a, b).
//  - Gamma-Gamma spend (clv_gamma_gamma.cc; Fader, Hardie & Lee 2005, "RFM and
//    CLV: using iso-value curves for customer base analysis", JMR 42(4);
//    Colombo & Jiang 1999). A customer's purchase values are Gamma(p, nu) with
//    nu ~ Gamma(q, v) across customers; lifetimes calls v "gamma". It assumes
//    spend is independent of purchase frequency: check
//    GammaGammaFit::frequency_spend_correlation.
//  - CLV (clv.cc): both combined into discounted expected revenue over a
//    horizon, the way the lifetimes package's customer_lifetime_value does.
//
// Inputs are per-customer RFM summaries in one time unit (days or weeks):
//   x        repeat purchases: purchase days after the first purchase day
//   t_x      time of the last purchase, measured from the first purchase
//   T        the customer's age: time from the first purchase to the end of
//            the calibration period
//   monetary mean value of the repeat purchases (0 when x == 0)
// The names are the papers'. BuildRfmSummary derives them from purchase
// timestamps. Fitted parameters are in the summary's time unit: a model
// fitted in weeks predicts weeks.
//
// Errors: bad input is an InvalidArgument naming the customer (the 0-based
// row of the RfmSummary, or of the PurchaseHistory) and the field. The
// per-customer predictions are plain functions returning double for speed;
// they return NaN for inputs that fail ValidateRfmSummary's rules.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"

namespace omni::profile {

// ---------------------------------------------------------------- RFM input

enum class TimeUnit { kDay, kWeek };

// "day" or "week" (the CLI's --unit).
StatusOr<TimeUnit> ParseTimeUnit(std::string_view text);
std::string_view TimeUnitName(TimeUnit unit);

// lifetimes' conversion factors for a month (freq "D" and "W").
inline constexpr double kDaysPerMonth = 30.0;
inline constexpr double kWeeksPerMonth = 4.345;
double UnitsPerMonth(TimeUnit unit);

// One row per customer; all vectors have the same length, except monetary,
// which may be empty when only BG/NBD is wanted.
struct RfmSummary {
  std::vector<double> x;
  std::vector<double> t_x;
  std::vector<double> T;  // NOLINT: the papers' name
  std::vector<double> monetary;
  // Optional: which caller customer each row is (BuildRfmSummary fills it
  // with the customer's index in the PurchaseHistory). Models ignore it.
  std::vector<int64_t> customer;

  size_t size() const { return x.size(); }
};

// Checks what every model needs: equal lengths; finite values; x a
// non-negative whole number; 0 <= t_x <= T; t_x > 0 exactly when x > 0 (a
// repeat purchase happens after the first one); monetary >= 0.
Status ValidateRfmSummary(const RfmSummary& summary);

// Purchases of many customers, flattened: customer c's purchases are entries
// [offsets[c], offsets[c + 1]) of ts_ms and amount, in any order. amount may
// be empty (monetary is then left empty).
struct PurchaseHistory {
  std::vector<int64_t> offsets{0};  // customers + 1 entries
  std::vector<int64_t> ts_ms;       // Unix epoch milliseconds
  std::vector<double> amount;       // purchase value, >= 0
};

struct RfmOptions {
  // The last day of the calibration period is this instant's calendar day:
  // purchases on later days are ignored, and T runs to this day. The whole
  // day counts, as in lifetimes, so a date at 00:00 means "up to that date".
  int64_t calibration_end_ms = 0;
  TimeUnit unit = TimeUnit::kWeek;
  // Days are calendar days at this offset from UTC (e.g. +8h for China), so
  // that a purchase at 23:30 and one at 00:30 local time are two days.
  int64_t utc_offset_ms = 0;
};

// Builds the RFM summary at the calibration end, as lifetimes'
// summary_data_from_transaction_data(freq="D", freq_multiplier=1 or 7) and
// Fader & Hardie's CDNOW summary do:
//  - time is counted in whole calendar days; all purchases of one day
//    collapse into one purchase whose value is the day's total (a basket
//    split over several tills or orders is one shopping trip);
//  - x = purchase days - 1; t_x = last day - first day; T = day of
//    calibration_end_ms - first day; in weeks these are divided by 7 (so
//    weeks are fractional, as in the CDNOW summary, not calendar weeks);
//  - monetary = mean day total over the repeat days (the first day's value is
//    left out, as the Gamma-Gamma model expects); 0 when x == 0.
// Customers without a purchase on or before the calibration end day get no row;
// RfmSummary::customer maps rows back to customers. InvalidArgument for
// malformed offsets or a negative / non-finite amount (naming the customer
// and purchase).
StatusOr<RfmSummary> BuildRfmSummary(const PurchaseHistory& history, const RfmOptions& options);

// ---------------------------------------------------------------- fitting

struct FitOptions {
  // L2 penalty on the parameters, as lifetimes' penalizer_coef: the objective
  // minimised is -mean log-likelihood + penalizer_coef * sum(param^2). For
  // BG/NBD, alpha is taken on lifetimes 0.11's internal time scale (time
  // divided by the largest T), so the same coefficient behaves as there.
  double penalizer_coef = 0.0;
  // Independent local optimisations from different starting points; the best
  // is kept. Guards against a start that stalls on a flat ridge, which these
  // likelihoods have. The first start runs to relative_tolerance; the others
  // stop at 1e-4 (enough to tell another basin) and are finished to
  // relative_tolerance only when they beat the first.
  int starts = 3;
  // 2: the first start runs on the calling thread while a second thread
  // screens the others. The result is the same with 1.
  int threads = 2;
  // Per start.
  int max_evaluations = 5000;
  // NLopt's relative tolerance on the parameters (log scale) and objective.
  double relative_tolerance = 1e-12;
};

// How the maximum-likelihood fit went.
struct FitReport {
  // Sum over customers, unpenalised, in the data's own units.
  double log_likelihood = 0.0;
  int64_t customers = 0;      // rows used by the model
  int64_t distinct_rows = 0;  // after merging identical rows (the work done)
  int evaluations = 0;        // objective evaluations, all starts together
  // True when NLopt stopped on a tolerance and the gradient of the mean
  // log-likelihood in log-parameters is ~0 (max |g| < 1e-5), i.e. an interior
  // optimum. False usually means the data cannot identify the model (e.g. a
  // parameter ran off to the bound e^+-20): use the parameters with care.
  bool converged = false;
  double gradient_norm = 0.0;  // max |g| at the optimum
  std::string outcome;         // NLopt's result for the best start
};

// ---------------------------------------------------------------- BG/NBD

struct BgNbdParams {
  double r = 0.0;
  double alpha = 0.0;
  double a = 0.0;
  double b = 0.0;
};

struct BgNbdFit {
  BgNbdParams params;
  FitReport report;
};

// Maximum likelihood over all rows of `summary` (monetary unused).
// InvalidArgument when the summary is invalid, has fewer than 4 customers, or
// nobody made a repeat purchase (then a and b are not identified).
StatusOr<BgNbdFit> FitBgNbd(const RfmSummary& summary, const FitOptions& options = {});

// For pipelines that score every customer with the fit (profiles, features):
// the maximum-likelihood fit, unless it is degenerate — a + b above
// kDegenerateBetaConcentration, i.e. the dropout Beta collapsed to a point,
// which happens when nobody bought for a long stretch before the as-of. Then
// E[purchases] needs a 2F1 series of millions of terms per customer (tens of
// seconds on a few hundred customers), so the fit is redone with lifetimes'
// usual remedy, penalizer_coef = kDegeneratePenalizer, and `note` says so.
inline constexpr double kDegenerateBetaConcentration = 1e4;
inline constexpr double kDegeneratePenalizer = 0.001;
StatusOr<BgNbdFit> FitBgNbdForScoring(const RfmSummary& summary, const FitOptions& options, std::string* note);

// One customer's log-likelihood (FHL 2005, eq. 6).
double BgNbdLogLikelihood(const BgNbdParams& params, double x, double t_x, double T);

// E[Y(t) | x, t_x, T]: purchases expected in the next t time units from the
// calibration end (FHL 2005, eq. 10). NaN if the hypergeometric series fails
// (only for extreme parameters, e.g. a + b + x - 1 near 0).
double BgNbdExpectedPurchases(const BgNbdParams& params, double t, double x, double t_x, double T);

// P(alive | x, t_x, T) (FHL 2005, eq. 12); 1 for customers with x == 0,
// since under BG/NBD dropout happens only right after a purchase.
double BgNbdProbabilityAlive(const BgNbdParams& params, double x, double t_x, double T);

// P(alive) and E[Y(t) | x, t_x, T] of every row of `summary` into `alive` and
// `expected` (same length as the summary), for scoring a whole customer base:
// the work customers share (the 2F1 series per x, its value per (x, T), logs
// per day) is done once. alive[i] is BgNbdProbabilityAlive bit for bit;
// expected[i] = E[Y(t) | alive] * alive[i], BgNbdExpectedPurchases up to
// rounding. InvalidArgument for an invalid summary, parameters or t, or
// outputs of the wrong length.
Status BgNbdPredictions(const BgNbdParams& params, double t, const RfmSummary& summary, std::span<double> alive,
                        std::span<double> expected);

// E[X(t)]: repeat purchases expected in the first t time units after a
// randomly chosen customer's first purchase (FHL 2005, eq. 9).
double BgNbdUnconditionalExpectedPurchases(const BgNbdParams& params, double t);

// ---------------------------------------------------------------- Gamma-Gamma

struct GammaGammaParams {
  double p = 0.0;
  double q = 0.0;
  double v = 0.0;  // lifetimes' "gamma"
};

struct GammaGammaFit {
  GammaGammaParams params;
  FitReport report;
  // Pearson correlation of x and monetary over the customers fitted. The
  // model assumes independence; far from 0 (lifetimes' docs: check it is
  // small) means spend predictions are biased. 0 when either is constant.
  double frequency_spend_correlation = 0.0;
  // Customers with x >= 1 but monetary == 0 (only free repeat purchases: gifts,
  // 100% coupons). A Gamma spend of 0 has zero likelihood, so they are left
  // out of the fit (lifetimes refuses the whole data set instead); counted
  // here so the caller can report them.
  int64_t zero_spend_customers = 0;
};

// Maximum likelihood over the customers with x >= 1 and monetary > 0 (the
// others have no repeat spend to learn from). InvalidArgument when the
// summary is invalid, monetary is missing, or fewer than 3 customers qualify.
StatusOr<GammaGammaFit> FitGammaGamma(const RfmSummary& summary, const FitOptions& options = {});

// One customer's log-likelihood of their mean spend m over x purchases.
double GammaGammaLogLikelihood(const GammaGammaParams& params, double x, double m);

// E[M | x, m]: the customer's expected value per purchase,
//   p (v + x m) / (p x + q - 1),
// a weighted mean of the population mean p v / (q - 1) and the customer's own
// mean m (lifetimes' conditional_expected_average_profit). For x == 0 it is
// the population mean. +infinity when p x + q <= 1 (the mean does not exist).
double GammaGammaExpectedSpend(const GammaGammaParams& params, double x, double m);

// ---------------------------------------------------------------- CLV

struct ClvOptions {
  int horizon_months = 12;
  double monthly_discount_rate = 0.01;
  // Model time units per month: UnitsPerMonth(unit) of the summary the BG/NBD
  // model was fitted on. The default is lifetimes' (freq="D").
  double units_per_month = kDaysPerMonth;
};

// Discounted expected revenue over the horizon, as lifetimes'
// customer_lifetime_value:
//   CLV = sum_{i=1..H} E[M | x, m] * (E[Y(i u) | x, t_x, T] - E[Y((i-1) u) | ...])
//                      / (1 + d)^i
// with H = horizon_months, u = units_per_month, d = monthly_discount_rate:
// the purchases expected in month i, times the expected value per purchase,
// discounted to the calibration end. NaN for invalid options (H < 0,
// d <= -1, u <= 0) or an invalid customer.
double CustomerLifetimeValue(const BgNbdParams& bgnbd, const GammaGammaParams& spend, double x,
                             double t_x, double T, double m, const ClvOptions& options);

// CustomerLifetimeValue for every row of `summary` into `out` (same length).
// InvalidArgument for an invalid summary (monetary is required), options or
// output length.
Status CustomerLifetimeValues(const BgNbdParams& bgnbd, const GammaGammaParams& spend,
                              const RfmSummary& summary, const ClvOptions& options,
                              std::span<double> out);

}  // namespace omni::profile
