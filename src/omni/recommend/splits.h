// Interaction logs, filters and train/validation/test splits for offline
// evaluation. A log keeps interactions in arrival order (the order of the
// store, i.e. of the source file), because the published protocols shuffle
// each customer's rows starting from that order: reproducing their splits
// exactly means starting from the same sequence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/recommend/recommender.h"

namespace omni::recommend {

struct Interaction {
  int32_t customer = 0;
  int32_t item = 0;
  float value = 1.0f;   // weight (or the rating, for rating datasets)
  float rating = 0.0f;  // explicit rating when the source has one, else 0
  int64_t ts_ms = 0;
};

struct InteractionLog {
  int32_t customers = 0;  // dense id space (ids may be unused after filtering)
  int32_t items = 0;
  std::vector<Interaction> rows;  // arrival order
};

// How a log becomes the training matrix.
enum class MatrixValues {
  kBinary,  // 1 per customer × item (duplicates count once): implicit feedback
  kWeight,  // summed Interaction::value
};
// Entries whose summed value is not positive (a purchase cancelled by its
// refund) are dropped in both modes.
StatusOr<InteractionMatrix> ToMatrix(const InteractionLog& log, MatrixValues values);

// The newest event time (ts_ms) of each stored entry of `m` (parallel to
// m.indices) among the rows of `log` it was built from; INT64_MIN for an
// entry no row of `log` names. What Recommender::FitTimed takes.
std::vector<int64_t> EntryTimes(const InteractionMatrix& m, const InteractionLog& log);

// Fits `model` on `m`, with the event times of `log` (the rows `m` was
// built from) when the model learns from them.
Status FitFromLog(Recommender& model, const InteractionMatrix& m, const InteractionLog& log);

// Keeps rows with rating >= min_rating.
InteractionLog FilterMinRating(const InteractionLog& log, float min_rating);
// Iterative k-core: drops customers with fewer than min_customer rows and
// items with fewer than min_item rows until both hold (RecBole's
// _filter_by_inter_num loop). Ids are kept (not re-numbered).
InteractionLog KCore(const InteractionLog& log, int min_customer, int min_item);

struct Split {
  InteractionLog train, validation, test;  // same id spaces as the input
};

// Microsoft Recommenders' python_stratified_split(ratio, seed): per customer,
// rows in log order are permuted exactly as numpy's RandomState(seed)
// .permutation(n) (a fresh generator per customer, as pandas'
// sample(frac=1, random_state=seed) does) and the first round(ratio·n) rows
// (Python's round: half to even) are train, the rest test.
Split MsrStratifiedSplit(const InteractionLog& log, double train_ratio, uint32_t seed);

// `folds` disjoint validation parts of the same per-customer permutation as
// MsrStratifiedSplit: fold f is validation = the customer's permuted rows at
// positions [round(f·n/folds), round((f+1)·n/folds)) (half to even), train
// the rest. With folds = 4 the last fold is MsrStratifiedSplit(log, 0.75,
// seed)'s test part exactly; every row is validation in exactly one fold.
std::vector<Split> MsrStratifiedFolds(const InteractionLog& log, int folds, uint32_t seed);

// RecBole's random ratio split (RS with group_by user, order RO): the whole
// log is shuffled with numpy RandomState(seed).permutation, then per customer
// (in shuffled order) validation and test get floor(ratio·n) rows each and
// train the rest (RecBole's _calcu_split_ids, including its rule that a part
// with 0 < ratio·n < 1 gets one row while train keeps more than one).
Split RecBoleRatioSplit(const InteractionLog& log, double validation_ratio, double test_ratio, uint32_t seed);

// Everything before cutoff_ms is train, the rest test (a global time cut).
Split TemporalSplit(const InteractionLog& log, int64_t cutoff_ms);

// Each customer's last basket (all rows at their latest timestamp) is test,
// provided the customer has earlier rows; the rest is train.
Split LeaveLastOutSplit(const InteractionLog& log);

// numpy.random.RandomState(seed).permutation(n), bit for bit (MT19937 with
// init_genrand, Fisher-Yates from the top with masked rejection sampling).
std::vector<int64_t> NumpyPermutation(int64_t n, uint32_t seed);

}  // namespace omni::recommend
