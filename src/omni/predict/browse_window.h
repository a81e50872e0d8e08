// The purchase-after-browse window: once a customer has looked at an item,
// how likely are they to buy it, and how soon — so a reminder (push, SMS,
// WeChat message) goes out while it can still help. docs/features.md has the
// definitions with an example.
//
// ANCHORS. For each resolved customer and item, the events are walked in time
// order. A view opens a "view episode" unless one is already open; a purchase
// of the item (any channel) closes the open episodes (view and cart) with a
// delay = purchase time - the episode's first view (or first cart add). The
// next view after that purchase opens a new episode. So each anchor is the
// moment interest in an item first showed since the customer last bought it,
// which is where a reminder system would start its clock; repeated views of
// the same item before buying do not multiply the anchors. Cart adds are
// anchors of their own kind in the same way.
//
// CENSORING. An anchor less than max_hours before the last event in the data
// could still convert after the data ends; such anchors are left out
// (counted in WindowReport::censored), so every P(t) is over fully observed
// anchors.
//
// CURVES. For a group of anchors (a channel, a category, or both; plus "all"),
// P(t) = share of anchors whose purchase came within t hours, for t on the
// hour grid; the delays of the converted anchors give the median and 90th
// percentile. Channel = the channel of the anchoring view; category = the
// item's category at the chosen level.
//
// CROSS-CHANNEL. Anchors from online channels (web, app, mini-program by
// default) whose closing purchase was in a store channel (store, kiosk) form
// the group channel "online→store": P(t) there is the share of online views
// followed by a store purchase of the same item within t hours.
//
// WHEN A REMINDER STOPS PAYING. The reminder window closes at the first hour
// t where the purchases still to come — anchors converting in (t, max_hours],
// per 1,000 anchors — fall below `min_remaining_per_1000` (default 5): after
// that, a reminder can at best reach fewer than 5 buyers per 1,000 viewers
// who had not bought yet. It is computed exactly from the sorted delays, not
// read off the grid; 0 means even right after the view fewer than that many
// buyers are still to come.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/identity.h"
#include "omni/ingest/event.h"
#include "omni/store/store.h"

namespace omni::predict {

enum class WindowGrouping { kChannel, kCategory, kChannelCategory };

// "channel", "category", "channel,category" (the CLI's --by).
StatusOr<WindowGrouping> ParseWindowGrouping(std::string_view text);

struct WindowOptions {
  std::vector<double> hours = {1, 2, 4, 8, 12, 24, 48, 72, 168};
  double max_hours = 168;  // follow-up horizon; grid hours beyond it are dropped
  double min_remaining_per_1000 = 5;
  WindowGrouping by = WindowGrouping::kChannel;
  int category_level = 1;  // "服饰 > 女装 > 连衣裙": 1 = "服饰"
  std::vector<std::string> online_channels = {"web", "app", "miniprogram"};
  std::vector<std::string> in_store_channels = {"store", "kiosk"};
};

inline constexpr const char* kAllGroup = "all";
inline constexpr const char* kOnlineToStore = "online→store";

struct WindowCurve {
  std::string anchor;    // "view" or "add_to_cart"
  std::string channel;   // a channel, "all", or "online→store"
  std::string category;  // a category, or "all"
  int64_t anchors = 0;
  int64_t converted = 0;            // bought within max_hours
  std::vector<double> p_within;     // per WindowOptions::hours (after dropping those > max_hours)
  double median_hours = 0;          // of the converted anchors' delays; NaN when none
  double p90_hours = 0;
  double window_close_hours = 0;    // see the header comment
};

struct WindowReport {
  std::vector<double> hours;  // the grid used
  std::vector<WindowCurve> curves;  // all first, then by group (view curves, then cart curves)
  int64_t events_read = 0;
  int64_t events_used = 0;
  int64_t censored = 0;          // anchors too close to the data's end (left out)
  int64_t last_event_ms = 0;
};

class BrowseWindowBuilder {
 public:
  BrowseWindowBuilder(const identity::CustomerDirectory& directory, WindowOptions options);
  ~BrowseWindowBuilder();
  BrowseWindowBuilder(const BrowseWindowBuilder&) = delete;
  BrowseWindowBuilder& operator=(const BrowseWindowBuilder&) = delete;

  void AddItem(const ingest::Item& item);
  void AddEvent(const ingest::Event& event);
  StatusOr<WindowReport> Finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

StatusOr<WindowReport> ComputeBrowseWindow(store::Store& store, const identity::CustomerDirectory& directory,
                                           const WindowOptions& options);

// A line chart a marketer reads: x = hours since the view (log scale,
// labelled 1h .. 1 week), y = % of views bought; one line per view curve of
// `report` whose category is "all" (all channels, each channel, online→store)
// or, when there are none but "all", one per category; the reminder window's
// end marked on each line. Self-contained SVG 1.1 text.
std::string BrowseWindowSvg(const WindowReport& report, const std::string& title);

}  // namespace omni::predict
