// The numbers behind the dashboard's pages (dashboard.h), one JSON object per
// page, computed from a read-only connection to DATA_DIR/omni.db. Read-only
// and short-lived on purpose: SQLite in WAL mode lets any number of readers
// run beside the one writer, so a marketer opening a page never delays an
// event POST, and a reader never sees half a batch or half a profile build.
//
// Every count of customers that leaves here goes through the profile
// module's k-anonymity suppression (profile/k_anonymity.h): a count below
// DATA_DIR's min_group_size is sent as null with "shown": "<k", never as the
// number. Event, order and quarantine counts are not about groups of people
// and are shown as they are.
//
// A page whose inputs do not exist yet (no events imported, no profile
// build, no evaluation) answers OK with the missing part null and a "note"
// saying which command produces it, so the page can say so instead of
// failing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/identity.h"
#include "omni/serve/overview_counts.h"
#include "omni/store/sql.h"

namespace omni::serve {

class DashboardData {
 public:
  // FailedPrecondition when DATA_DIR holds no store yet (run omni import).
  static StatusOr<DashboardData> Open(const std::string& data_dir);

  // What the pages' results depend on, cheap to read; the server caches a
  // page until its version changes. Changes with every committed batch of
  // events (highest events.seq), every profile build (its id), every
  // segment edit (count and last update) and the k of k-anonymity.
  StatusOr<std::string> EventsVersion();
  StatusOr<std::string> ProfilesVersion();
  // The stored One-ID resolution's watermark and generation ("none" before
  // the first `omni customers resolve`).
  StatusOr<std::string> IdentityVersion();
  // DATA_DIR's identity configuration (which identifier types are strongest).
  StatusOr<identity::IdentityConfig> LoadIdentityConfig() const;

  // Overview: events per channel per local day over the last `days` days
  // that have events (days are the shop's local calendar days, from each
  // event's own UTC offset), orders and sales per day, daily active
  // customers (distinct people per day, per channel and in total), the
  // view → add to cart → purchase funnel per channel and across channels
  // over the same window in distinct people (and the events behind each
  // stage), active customers from the latest profile build, and the store's
  // totals.
  //
  // People are the customers of `directory` (One-ID: an event belongs to the
  // customer of its strongest resolved identifier); an event it cannot place
  // (newer than the resolution, only shared identifiers), or every event when
  // `directory` is null or empty, counts by its strongest identifier.
  // "people.basis" says which ("customers" or "identifiers").
  StatusOr<std::string> Overview(int days, const identity::CustomerDirectory* directory);
  // The same with the resolution stored in DATA_DIR (loaded for this call).
  StatusOr<std::string> Overview(int days);
  // The same, bringing `counts` (overview_counts.h) up to date with the
  // events committed since its last call instead of counting the window
  // afresh: the server keeps one per resolution. Its first call reads the
  // last max(days, counts.cover_days()) days.
  StatusOr<std::string> Overview(int days, OverviewCounts& counts);

  // RFM: the 5 × 5 recency × frequency grid of buyers (count and average net
  // spend per cell), the named RFM groups, and the size of every saved
  // segment, all from the latest profile build.
  StatusOr<std::string> Rfm();

  // CLV: the distribution of 12-month customer lifetime value (histogram
  // with `bins` equal-width bins up to a round number above the 95th
  // percentile and one open bin above it), P(alive), summary statistics and the fitted model parameters.
  StatusOr<std::string> Clv(int bins);

  // Quarantine: rejected records per reason and per source, and the newest
  // `limit` rejected lines (optionally of one reason) with line number,
  // field and message. Raw lines are stored with PII already masked by
  // ingest; bytes that are not UTF-8 are shown as U+FFFD.
  StatusOr<std::string> Quarantine(int limit, std::string_view reason);

  // Recommendation quality: the newest evaluation report in
  // DATA_DIR/evaluations/*.json (the `omni evaluate --format json` object),
  // or null with a note; and the trained models in DATA_DIR/models/ (latest
  // version of each, with its metadata).
  StatusOr<std::string> Recommendations();

 private:
  DashboardData(std::string data_dir, std::unique_ptr<store::Sql> sql, int64_t min_group_size)
      : data_dir_(std::move(data_dir)), sql_(std::move(sql)), k_(min_group_size) {}
  StatusOr<bool> HasTable(std::string_view name);
  StatusOr<int64_t> QueryInt(std::string_view sql, int64_t if_null, const std::vector<store::SqlValue>& params = {});

  std::string data_dir_;
  std::unique_ptr<store::Sql> sql_;
  int64_t k_;  // min_group_size
};

// `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD,
// so a JSON answer is always valid UTF-8 (a GBK line in quarantine).
std::string ValidUtf8(std::string_view text);

}  // namespace omni::serve
