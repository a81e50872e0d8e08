// Implicit-feedback ALS (Hu, Koren & Volinsky, "Collaborative Filtering for
// Implicit Feedback Datasets", ICDM 2008) solved with a few conjugate-gradient
// steps per customer/item, warm-started from the previous factors (Takács,
// Pilászy & Tikk, RecSys 2011) — the solver the `implicit` library uses.
//
// Model: customer i, item j, weight r_ij from the interaction matrix.
//   preference p_ij = 1 if r_ij > 0 else 0
//   confidence c_ij = 1 + alpha * |r_ij|   (1 where nothing was recorded)
//   minimise sum_ij c_ij (p_ij - x_i·y_j)^2 + reg (|X|^2 + |Y|^2)
// Negative weights (net refunds) count as "seen, not wanted": preference 0 at
// their confidence.
//
// Spec (each parameter is declared once in als.cc with default, bounds, help):
//   als:factors=64,reg=0.05,alpha=1.0,iters=15,cg_steps=3,seed=42,threads=2
// cg_steps=0 solves every least-squares problem exactly by Cholesky (slow:
// O(nnz·k²) per sweep; for checks and small catalogues).
//
// Results do not depend on the thread count: every customer/item solve reads
// only the other side's factors, and the Gram matrix is summed in fixed
// chunks in a fixed order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "omni/common/spec.h"
#include "omni/common/status.h"
#include "omni/recommend/recommender.h"

namespace omni::recommend {

struct AlsOptions {
  int factors = 64;
  double reg = 0.05;
  double alpha = 1.0;
  int iters = 15;
  int cg_steps = 3;
  uint64_t seed = 42;
  int threads = 2;
};

// Reads an "als:..." spec; unknown keys and out-of-range values are
// InvalidArgument naming the key.
StatusOr<AlsOptions> ParseAlsOptions(const Spec& spec);
// One line per parameter: name, default, bounds, description (for --help).
std::string AlsParameterHelp();

class AlsModel : public Recommender {
 public:
  explicit AlsModel(const AlsOptions& options);
  ~AlsModel() override;

  std::string spec() const override;
  Status Fit(const InteractionMatrix& train) override;
  // Customers whose history row equals the one they were fitted on use their
  // fitted factors; anyone else (new ids, rows with fresh events) is folded
  // in with RecalculateCustomer. Customers with no factors and no history
  // score 0 everywhere (the serving layer falls back to popularity).
  void Score(std::span<const int32_t> customers, const InteractionMatrix& history,
             float* scores) const override;
  // Serving: a customer whose history is still their training row (same
  // fingerprint) is scored from the fitted factors, one pass over the item
  // factors (held in half precision for this path: relative error about
  // 1e-3 on a score, so near-ties may order differently than in Score); a known customer with fresh events gets max(cg_steps, 3)
  // conjugate-gradient steps from their fitted factors; an unknown one the
  // exact fold-in (RecalculateCustomer).
  void ScoreCustomer(int32_t training_row, std::span<const int32_t> items, std::span<const float> values,
                     float* scores) const override;
  bool UsesTrainingRows() const override { return true; }
  int32_t item_count() const override { return items_; }
  void Explain(std::span<const int32_t> items, std::span<const float> values, int32_t item, int limit,
               std::vector<ScoredItem>& out) const override;
  int32_t customer_count() const { return customers_; }
  int factors() const { return options_.factors; }
  const AlsOptions& options() const { return options_; }

  // The shared versioned artefact (artefact.h): spec, dimensions, factors,
  // the fitted rows' fingerprints. Load checks every size before trusting it.
  Status Save(const std::string& path) const override;
  Status Load(const std::string& path) override;

  // Solves one customer's factors exactly from a history row (item ids and
  // weights, any order, no duplicates) with the item factors held fixed: the
  // same least-squares problem a training sweep solves, so a customer can be
  // refreshed after a session without retraining. Returns `factors()` floats
  // (all 0 before Fit/Load).
  std::vector<float> RecalculateCustomer(std::span<const int32_t> items,
                                         std::span<const float> weights) const;
  // The same problem by `steps` conjugate-gradient steps from `start` (zeros
  // when empty); exposed so tests can hold the CG solver against Cholesky.
  std::vector<float> RecalculateCustomerCg(std::span<const int32_t> items, std::span<const float> weights,
                                           int steps, std::span<const float> start = {}) const;

  std::span<const float> CustomerFactors(int32_t customer) const;
  std::span<const float> ItemFactors(int32_t item) const;

  // The training objective above divided by rows × cols, for monitoring and
  // tests (it must not increase from one sweep to the next).
  double Loss(const InteractionMatrix& train) const;

  // Called after every sweep with the 1-based iteration and its seconds.
  void set_iteration_callback(std::function<void(int iteration, double seconds)> callback) {
    iteration_callback_ = std::move(callback);
  }

 private:
  struct Factors;  // aligned, padded float rows (als.cc)

  AlsOptions options_;
  int32_t customers_ = 0;
  int32_t items_ = 0;
  std::unique_ptr<Factors> x_;  // customers
  std::unique_ptr<Factors> y_;  // items
  std::vector<float> item_gram_;  // YᵀY + reg·I, padded, for fold-in
  // Item factors in half precision for ScoreCustomer (one request streams
  // every item's factors: half the bytes); Score and training use y_.
  std::vector<uint16_t> y_half_;  // IEEE binary16 bits, rows padded like y_
  void BuildServingFactors();
  std::vector<uint64_t> row_fingerprints_;  // per fitted customer
  std::function<void(int, double)> iteration_callback_;
};

}  // namespace omni::recommend
