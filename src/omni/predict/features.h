// Point-in-time features per customer: what a propensity model may know about
// a resolved customer at a cutoff instant T, and whether they bought in the
// horizon that follows (the label). docs/features.md lists every column.
//
//   FeatureOptions options;                       // cutoffs, horizon, channels
//   FeatureBuilder builder(directory, options);
//   store.ScanItems([&](const Item& i) { builder.AddItem(i); return true; });
//   builder.AddEvents(*columns);   // store::EventColumns::Open(data_dir, store); or AddEvent per event
//   OMNI_ASSIGN_OR_RETURN(FeatureTable table, builder.Finish());
//
// NO LEAKAGE. A row at cutoff T is computed from events with ts < T only; the
// label is 1 when the customer has a purchase with T < ts <= T + horizon. An
// event at exactly T is in neither. Everything a feature depends on follows
// the same rule: the BG/NBD model behind `bgnbd_*` is fitted per cutoff on
// the purchases before T; the category columns are the top categories by item
// events before the EARLIEST cutoff (so they are the same columns at every
// cutoff and chosen without looking past any of them); "cart abandoned" and
// "browsed without buying" mean "not bought before T" (a purchase just after T
// must not change them). features_test.cc proves it: events after T change no
// feature, and a purchase in (T, T+H] flips only the label.
//
// Rows: one per (cutoff, customer of the directory with at least one event
// before T), cutoffs in the order given, customers in dense-id order.
//
// HOW. One pass over the events keeps a 24-byte record per event of a resolved
// customer before the latest cutoff + horizon (later events and non-purchase
// events after the latest cutoff are dropped on the spot); Finish sorts the
// records by customer and time (radix sort on the customer, then a mostly
// sorted check per customer) and walks each customer's records once per
// cutoff with reusable scratch buffers. Orders are counted as distinct
// order_ids: the first line of each (customer, order) and (customer, order,
// channel) is flagged during the scan, so counting needs no per-cutoff set.
//
// Not thread-safe; AddItem calls must come before the first AddEvent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/identity.h"
#include "omni/ingest/event.h"
#include "omni/predict/feature_table.h"
#include "omni/profile/clv.h"
#include "omni/store/event_columns.h"
#include "omni/store/store.h"

namespace omni::predict {

inline constexpr int64_t kDayMs = 86'400'000;

struct FeatureOptions {
  // Required: at least one. Milliseconds are dropped (cutoffs are whole
  // seconds, as event times are compared in milliseconds to them).
  std::vector<int64_t> cutoffs_ms;
  // Required (> 0): the label looks this far past each cutoff.
  int64_t horizon_ms = 90 * kDayMs;
  // Channels in column order (the ingest config's list). Only channels with
  // at least one event before the latest cutoff get columns; a channel not
  // listed is added after the listed ones when seen.
  std::vector<std::string> channels;
  // Recent-behaviour windows before T, in days.
  std::vector<int> window_days = {1, 7, 30};
  // Category columns: the top N categories by item events (view, cart add,
  // purchase) before the earliest cutoff, at this depth of the category path
  // ("服饰 > 女装 > 连衣裙": 1 = "服饰").
  int top_categories = 5;
  int category_level = 1;
  // BG/NBD expected purchases in the horizon and P(alive), fitted per cutoff.
  bool fit_clv = true;
  profile::FitOptions fit;
  // Identifier types that make a customer "identified" (profile_builder.h):
  // only identified buyers enter the BG/NBD fit, and `identified` is a column.
  std::vector<ingest::IdentityType> strong_types = {
      ingest::IdentityType::kCustomerId, ingest::IdentityType::kMemberCard, ingest::IdentityType::kPhone,
      ingest::IdentityType::kEmail, ingest::IdentityType::kSocialId};
  // Capacity hint for the record buffer (the store's event count); 0 = grow.
  int64_t expected_events = 0;
};

struct CutoffSummary {
  int64_t cutoff_ms = 0;
  int64_t rows = 0;
  int64_t positives = 0;
  // False when T + horizon is past the last event: the label cannot be
  // complete (customers who would buy after the data ends count as 0).
  bool label_complete = true;
  bool clv_fitted = false;
  std::string clv_note;  // why not, when not
  profile::BgNbdParams bgnbd;
};

struct FeatureBuildStats {
  int64_t events_read = 0;
  int64_t events_used = 0;           // kept as records
  int64_t events_unattributed = 0;   // no resolved customer (shared ids only, or newer than One-ID's run)
  int64_t events_after_horizon = 0;  // at or after the latest cutoff + horizon, or unneeded after the latest cutoff
  int64_t max_event_ms = 0;          // latest event seen (for label completeness)
  std::vector<std::string> channels;    // channels with columns, in column order
  std::vector<std::string> categories;  // category of each category column pair, in column order
  std::vector<CutoffSummary> cutoffs;
  double finish_seconds = 0;
};

class FeatureBuilder {
 public:
  // `directory` must outlive the builder.
  FeatureBuilder(const identity::CustomerDirectory& directory, FeatureOptions options);
  ~FeatureBuilder();
  FeatureBuilder(const FeatureBuilder&) = delete;
  FeatureBuilder& operator=(const FeatureBuilder&) = delete;

  void AddItem(const ingest::Item& item);
  void AddEvent(const ingest::Event& event);
  // Every event of the columnar snapshot, in seq order: the same table as
  // AddEvent over ScanEvents, without decoding SQLite rows.
  void AddEvents(const store::EventColumns& columns);
  // InvalidArgument for missing cutoffs or a non-positive horizon. Call once.
  StatusOr<FeatureTable> Finish();
  const FeatureBuildStats& stats() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The whole build over a store: items, then every event from the columnar
// snapshot of `data_dir` (caught up from `store` first). `directory` is the
// loaded One-ID resolution.
StatusOr<FeatureTable> BuildFeatures(const std::string& data_dir, store::Store& store,
                                     const identity::CustomerDirectory& directory, const FeatureOptions& options,
                                     FeatureBuildStats* stats);

// The feature column names a build with these channels, categories and
// windows produces, in order (features.cc is the one place they are defined).
std::vector<std::string> FeatureColumns(const std::vector<std::string>& channels,
                                        const std::vector<std::string>& categories,
                                        const std::vector<int>& window_days);

// The category at `level` of a path "A > B > C" (1 = "A", 2 = "A > B"); the
// whole path when it has fewer levels.
std::string_view CategoryAtLevel(std::string_view path, int level);

// A column-name-safe form of a channel or category name: ASCII letters
// lower-cased, digits and non-ASCII (UTF-8) kept, everything else one '_'.
std::string ColumnSlug(std::string_view name);

}  // namespace omni::predict
