// The counts behind the dashboard's overview (dashboard_data.h): events,
// orders and sales per channel per shop-local day, and distinct people —
// daily active customers per channel and in total, and the view → add to
// cart → purchase funnel per channel and across channels.
//
// People are One-ID customers: an event belongs to the customer of its
// strongest resolved identifier (CustomerDirectory::CustomerOfEvent). An
// event the directory cannot place (newer than the resolution, only shared
// identifiers), or every event when no resolution exists, counts by its
// strongest identifier instead, and the answer says so ("people").
//
// Counts are kept per day, so one object can be brought up to date with the
// events committed since it last looked (Add them, then Seal) and asked for
// any window again: the server keeps one between requests and reads only
// the new events instead of recounting a year of them (dashboard.cc). A new
// resolution changes who is who: start a new object then.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "omni/common/json_writer.h"
#include "omni/common/status.h"
#include "omni/identity/identity.h"

namespace omni::serve {

// The columns of one stored event the overview reads.
struct OverviewEvent {
  int64_t seq = 0;
  int64_t ts_ms = 0;
  int32_t tz_offset_min = 0;
  std::string_view channel, type;
  std::string_view identities;  // the stored JSON object {"member_card":"M1",...}
  std::string_view order_id;
  std::optional<double> price, quantity;
  std::string_view currency;
};

class OverviewCounts {
 public:
  // `directory` may be null (no resolution: people are identifiers).
  // `cover_days`: the widest window it will be asked for (its first read).
  OverviewCounts(std::shared_ptr<const identity::CustomerDirectory> directory, identity::IdentityConfig config,
                 int cover_days = 0);
  ~OverviewCounts();
  OverviewCounts(const OverviewCounts&) = delete;
  OverviewCounts& operator=(const OverviewCounts&) = delete;

  void Add(const OverviewEvent& e);
  // After a run of Add: makes the touched days' sets of people exact, and
  // forgets days more than `keep_days` before the newest one.
  void Seal(int keep_days = 370);
  // Internal when a stored identities column is not the object ingest writes.
  const Status& status() const;

  int64_t last_seq() const { return last_seq_; }
  int cover_days() const { return cover_days_; }
  bool empty() const { return days_.empty(); }

  // The window's part of the overview, as fields of the object being written:
  // window, dates, channels, events_per_day, orders_per_day, sales_per_day,
  // people, totals, active_per_day, funnel, funnel_all_channels. The window
  // is the `days` local days ending with the newest day that has events.
  // Counts of people below `k` are written as null (k-anonymity).
  void Write(JsonWriter& w, int days, int64_t k) const;

 private:
  class People;
  struct Day;
  size_t Channel(std::string_view name);

  std::unique_ptr<People> people_;
  std::vector<std::string> channel_names_;
  std::map<int64_t, Day> days_;  // by local day number (days since 1970-01-01)
  std::pair<const int64_t, Day>* last_day_ = nullptr;  // the last Add's day
  size_t last_channel_ = 0;
  int64_t last_seq_ = 0;
  int cover_days_ = 0;
};

}  // namespace omni::serve
