// `omni customers evaluate --truth FILE`: how well resolution recovered the
// persons behind the identifiers, on data with known truth (the demo
// generator's truth CSV, generator.h).
//
// Pairwise precision and recall of "same person" decisions over
// identifiers: a pair of identifiers is predicted together when they have
// the same customer, truly together when they have the same person.
// precision = |pairs together in both| / |pairs predicted together|,
// recall = |pairs together in both| / |pairs truly together|. Counted from
// the contingency table (sum over cells of n(n-1)/2), never over all pairs.
//
// Which identifiers count, as the generator documents them:
//  - household and kiosk identifiers belong to several persons, so no
//    customer is right for them: left out of both scores, and reported
//    separately — how many of them the guards flagged shared;
//  - guest phones never appear with the person's other identifiers, so no
//    resolver can join them: left out of recall's denominator (they still
//    count for precision: joining one to anybody would be a mistake).
// An identifier without a customer (shared, blocked, never seen) is its own
// singleton cluster.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "omni/common/status.h"
#include "omni/ingest/pii.h"
#include "omni/store/sql.h"

namespace omni::identity {

struct PairScores {
  int64_t items = 0;
  int64_t together_both = 0;  // pairs together in prediction and truth
  int64_t predicted_together = 0;
  int64_t truly_together = 0;
  double precision = 1.0;  // 1 when nothing is predicted together
  double recall = 1.0;     // 1 when nothing is truly together
};

// items: one (predicted cluster, true cluster) per identifier.
PairScores ScorePairs(std::vector<std::pair<int64_t, int64_t>> items);

struct Evaluation {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  PairScores precision_pairs;  // over own + guest identifiers
  PairScores recall_pairs;     // over own identifiers
  int64_t truth_rows = 0;
  int64_t persons = 0;             // persons with an evaluated identifier
  int64_t customers = 0;           // clusters among the evaluated identifiers (singletons included)
  int64_t resolved_customers = 0;  // customers in the identity tables overall
  int64_t identifiers = 0;         // evaluated (own + guest)
  int64_t guest_identifiers = 0;
  int64_t unseen_identifiers = 0;  // in the truth, unknown to the identity tables
  int64_t own_flagged_shared = 0;  // a person's own identifier wrongly flagged shared
  int64_t own_blocked = 0;
  // Household / kiosk identifiers (distinct), how many several persons
  // really used, and how many of those the guards flagged shared.
  int64_t household_identifiers = 0;
  int64_t household_multi_person = 0;
  int64_t household_flagged = 0;
  int64_t kiosk_identifiers = 0;
  int64_t kiosk_multi_person = 0;
  int64_t kiosk_flagged = 0;
  int64_t invalid_rows = 0;  // truth rows that did not parse or normalise (skipped)
};

// Reads the truth CSV (person_id,identity_type,identity_value,shared),
// normalising and hashing values with `pseudonymiser` as ingest does.
// InvalidArgument for a file that is not a truth file; NotFound when
// missing; FailedPrecondition when resolution has not run.
StatusOr<Evaluation> EvaluateResolution(store::Sql& sql, const std::string& truth_path,
                                        ingest::Pseudonymiser& pseudonymiser);

}  // namespace omni::identity
