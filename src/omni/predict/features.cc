#include "omni/predict/features.h"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>
#include <fmt/format.h>

#include "omni/profile/event_source.h"
#include "omni/profile/group_by_customer.h"
#include "omni/profile/interning.h"

namespace omni::predict {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Records of one millisecond sort in this order: a view and the purchase it
// led to in the same instant count as "viewed, then bought".
enum Kind : uint8_t { kOther = 0, kView = 1, kCart = 2, kPurchase = 3, kRefund = 4 };

Kind KindOf(std::string_view type) {
  if (type == "view") return kView;
  if (type == "purchase") return kPurchase;
  if (type == "add_to_cart") return kCart;
  if (type == "refund") return kRefund;
  return kOther;
}

// Flags of a purchase record.
constexpr uint8_t kFirstOfOrder = 1;         // earliest line of its (customer, order)
constexpr uint8_t kFirstOfChannelOrder = 2;  // earliest line of its (customer, order, channel)

// 24 bytes per kept event: the build's main memory cost.
struct Record {
  int64_t ts_ms;
  uint32_t customer;
  int32_t item;    // -1 = none
  float amount;    // purchase / refund value (quantity x price, >= 0)
  uint8_t kind;
  uint8_t channel;
  uint8_t flags;
  uint8_t unused = 0;
};
static_assert(sizeof(Record) == 24);

}  // namespace

std::string_view CategoryAtLevel(std::string_view path, int level) {
  size_t pos = 0;
  for (int l = 1;; ++l) {
    const size_t end = path.find(" > ", pos);
    if (end == std::string_view::npos) return path;
    if (l >= level) return path.substr(0, end);
    pos = end + 3;
  }
}

std::string ColumnSlug(std::string_view name) {
  std::string out;
  for (unsigned char ch : name) {
    if (ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')) {
      out.push_back(static_cast<char>(ch));
    } else if (ch >= 'A' && ch <= 'Z') {
      out.push_back(static_cast<char>(ch - 'A' + 'a'));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "unnamed" : out;
}

std::vector<std::string> FeatureColumns(const std::vector<std::string>& channels,
                                        const std::vector<std::string>& categories,
                                        const std::vector<int>& window_days) {
  std::vector<std::string> c = {"recency_days", "days_since_last_event", "tenure_days", "events",
                                "identified",   "frequency",             "monetary",    "gross_sales",
                                "avg_basket",   "refund_rate"};
  for (const std::string& ch : channels) {
    const std::string s = ColumnSlug(ch);
    c.push_back("orders_" + s);
    c.push_back("monetary_" + s);
    c.push_back("event_share_" + s);
  }
  for (const char* what : {"views", "cart_adds", "browse_without_buy", "cart_abandon"}) {
    for (int d : window_days) c.push_back(fmt::format("{}_{}d", what, d));
  }
  c.push_back("days_since_unbought_view");
  for (const std::string& cat : categories) {
    const std::string s = ColumnSlug(cat);
    c.push_back("spend_share_" + s);
    c.push_back("view_share_" + s);
  }
  c.push_back("bgnbd_expected_purchases");
  c.push_back("bgnbd_p_alive");
  return c;
}

struct FeatureBuilder::State {
  State(const identity::CustomerDirectory& d, FeatureOptions o) : directory(d), options(std::move(o)) {}

  const identity::CustomerDirectory& directory;
  FeatureOptions options;
  FeatureBuildStats stats;
  int32_t n = 0;
  int64_t max_cutoff = 0;
  int64_t end_ms = 0;  // latest cutoff + horizon: later events are dropped
  bool finished = false;

  profile::ChannelInterner channels;
  std::array<bool, ingest::kIdentityTypeCount> strong{};

  profile::NameInterner items;
  std::vector<int32_t> item_category;  // by item id: category index at options.category_level, -1 = none
  profile::NameInterner categories;

  std::vector<Record> records;
  std::vector<int64_t> first_identified;  // per customer: earliest event with a strong identifier
  // (customer, order) -> record of its earliest line; (customer, order, channel) the same.
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, uint32_t> order_first;
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, uint32_t> channel_order_first;
  absl::flat_hash_map<int32_t, int64_t> purchase_tz;  // offset minutes -> purchases
  std::vector<int64_t> offsets;  // n + 1, into records once sorted

  int ChannelIndex(std::string_view name) { return channels.Index(name); }

  int32_t ItemIndex(std::string_view item_id) {
    const int32_t id = items.Index(item_id);
    if (id >= 0 && static_cast<size_t>(id) == item_category.size()) item_category.push_back(-1);
    return id;
  }

  // Flags `r` as the first line of its order in `first` when it is earlier
  // than the one flagged so far (lines of one order may arrive out of order).
  void MarkFirst(absl::flat_hash_map<std::pair<uint32_t, uint64_t>, uint32_t>& first, uint32_t customer,
                 uint64_t key, uint8_t flag) {
    const auto r = static_cast<uint32_t>(records.size() - 1);
    auto [it, inserted] = first.try_emplace({customer, key}, r);
    if (inserted) {
      records[r].flags |= flag;
      return;
    }
    Record& old = records[it->second];
    if (records[r].ts_ms < old.ts_ms) {
      old.flags &= static_cast<uint8_t>(~flag);
      records[r].flags |= flag;
      it->second = r;
    }
  }

  template <typename Source>
  void Add(const Source& e);
  void SortByCustomer();
  std::vector<int32_t> TopCategories() const;
  void FitClv(int64_t cutoff, std::vector<float>& expected, std::vector<float>& alive, CutoffSummary& summary) const;
};

FeatureBuilder::FeatureBuilder(const identity::CustomerDirectory& directory, FeatureOptions options)
    : s_(std::make_unique<State>(directory, std::move(options))) {
  State& s = *s_;
  s.n = directory.customer_count();
  for (int64_t& t : s.options.cutoffs_ms) t = t / 1000 * 1000;
  for (int64_t t : s.options.cutoffs_ms) s.max_cutoff = std::max(s.max_cutoff, t);
  s.end_ms = s.max_cutoff + std::max<int64_t>(0, s.options.horizon_ms);
  for (const std::string& c : s.options.channels) s.ChannelIndex(c);
  for (ingest::IdentityType t : s.options.strong_types) s.strong[static_cast<size_t>(t)] = true;
  s.first_identified.assign(static_cast<size_t>(s.n), std::numeric_limits<int64_t>::max());
  if (s.options.expected_events > 0) s.records.reserve(static_cast<size_t>(s.options.expected_events));
}

FeatureBuilder::~FeatureBuilder() = default;

const FeatureBuildStats& FeatureBuilder::stats() const { return s_->stats; }

void FeatureBuilder::AddItem(const ingest::Item& item) {
  State& s = *s_;
  const int32_t id = s.ItemIndex(item.item_id);
  if (id < 0 || item.category_path.empty()) return;
  std::string_view cat = CategoryAtLevel(item.category_path, std::max(1, s.options.category_level));
  s.item_category[static_cast<size_t>(id)] = s.categories.Index(cat);
}

// One accumulation for both inputs (profile/event_source.h: an ingest::Event
// or a row of the columnar snapshot).
template <typename Source>
void FeatureBuilder::State::Add(const Source& e) {
  ++stats.events_read;
  const int64_t ts_ms = e.ts_ms();
  stats.max_event_ms = std::max(stats.max_event_ms, ts_ms);
  const Kind kind = e.Kind();
  // Past the latest cutoff only purchases matter (labels); past the last
  // horizon nothing does.
  if (ts_ms > end_ms || (ts_ms >= max_cutoff && kind != kPurchase)) {
    ++stats.events_after_horizon;
    return;
  }
  bool identified = false;
  const int32_t customer = e.Customer(&identified);
  if (customer < 0 || customer >= n) {
    ++stats.events_unattributed;
    return;
  }
  const int ch = e.Channel(*this);
  if (ch < 0) return;
  ++stats.events_used;
  const auto c = static_cast<uint32_t>(customer);
  if (identified && ts_ms < first_identified[c]) first_identified[c] = ts_ms;
  Record r{ts_ms, c, -1, 0.0f, kind, static_cast<uint8_t>(ch), 0};
  if (kind != kOther) r.item = e.Item(*this);
  if (kind == kPurchase || kind == kRefund) {
    r.amount = static_cast<float>(std::max(0.0, e.Quantity().value_or(1.0) * e.Price().value_or(0.0)));
  }
  records.push_back(r);
  if (kind != kPurchase) return;
  ++purchase_tz[e.TzOffsetMin()];
  const std::string_view order_id = e.OrderId();
  if (order_id.empty()) {  // an order by itself
    records.back().flags = kFirstOfOrder | kFirstOfChannelOrder;
    return;
  }
  const uint64_t key = absl::HashOf(absl::string_view(order_id.data(), order_id.size()));
  MarkFirst(order_first, c, key, kFirstOfOrder);
  MarkFirst(channel_order_first, c, key ^ (0x9e3779b97f4a7c15ULL * (static_cast<uint64_t>(ch) + 1)),
            kFirstOfChannelOrder);
}

void FeatureBuilder::AddEvent(const ingest::Event& e) {
  s_->Add(profile::EventSource<Kind>(e, s_->directory, s_->strong, &KindOf));
}

void FeatureBuilder::AddEvents(const store::EventColumns& columns) {
  State& s = *s_;
  const profile::ColumnAttribution attribution(columns, s.directory, s.options.strong_types);
  profile::ColumnMaps<Kind> maps(columns, &KindOf);
  profile::AttributedBlocks attributed(columns, attribution);
  for (size_t k = 0; k < columns.blocks().size(); ++k) {
    const store::EventColumnBlock& b = columns.blocks()[k];
    const profile::AttributedBlocks::Rows customers = attributed.Block(k);
    for (int64_t row = 0; row < b.rows; ++row) s.Add(profile::ColumnSource<Kind>(columns, b, row, customers, maps));
  }
}

// Customer-major order by a stable LSD radix sort on the customer (as the
// profile builder does), then time order within each customer (records come
// nearly in time order, so that is mostly a check).
void FeatureBuilder::State::SortByCustomer() {
  const auto nn = static_cast<size_t>(n);
  profile::GroupByCustomer(records, nn, offsets);
  auto by_time = [](const Record& a, const Record& b) {
    if (a.ts_ms != b.ts_ms) return a.ts_ms < b.ts_ms;
    return a.kind < b.kind;
  };
  for (size_t c = 0; c < nn; ++c) {
    auto first = records.begin() + offsets[c];
    auto last = records.begin() + offsets[c + 1];
    if (!std::is_sorted(first, last, by_time)) std::stable_sort(first, last, by_time);
  }
}

std::vector<int32_t> FeatureBuilder::State::TopCategories() const {
  std::vector<int32_t> out;
  if (categories.size() == 0 || options.top_categories <= 0) return out;
  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (int64_t t : options.cutoffs_ms) earliest = std::min(earliest, t);
  std::vector<int64_t> volume(categories.size(), 0);
  for (const Record& r : records) {
    if (r.ts_ms >= earliest || r.item < 0 || r.kind == kOther || r.kind == kRefund) continue;
    const int32_t cat = item_category[static_cast<size_t>(r.item)];
    if (cat >= 0) ++volume[static_cast<size_t>(cat)];
  }
  for (size_t i = 0; i < categories.size(); ++i) {
    if (volume[i] > 0) out.push_back(static_cast<int32_t>(i));
  }
  std::sort(out.begin(), out.end(), [&](int32_t a, int32_t b) {
    if (volume[static_cast<size_t>(a)] != volume[static_cast<size_t>(b)]) {
      return volume[static_cast<size_t>(a)] > volume[static_cast<size_t>(b)];
    }
    return categories.names()[static_cast<size_t>(a)] < categories.names()[static_cast<size_t>(b)];
  });
  if (out.size() > static_cast<size_t>(options.top_categories)) out.resize(static_cast<size_t>(options.top_categories));
  return out;
}

// BG/NBD on the identified customers' purchases before the cutoff (days at
// the data's dominant UTC offset, as the profile build does), predicting the
// horizon. Leaves NaN where the model says nothing (no purchase before T,
// anonymous customer, or a fit that failed: the note says why).
void FeatureBuilder::State::FitClv(int64_t cutoff, std::vector<float>& expected, std::vector<float>& alive,
                                   CutoffSummary& summary) const {
  const auto nn = static_cast<size_t>(n);
  expected.assign(nn, kNaN);
  alive.assign(nn, kNaN);
  if (!options.fit_clv) {
    summary.clv_note = "not requested";
    return;
  }
  int32_t tz = 0;
  int64_t best = -1;
  for (const auto& [offset, count] : purchase_tz) {
    if (count > best || (count == best && offset < tz)) best = count, tz = offset;
  }
  profile::PurchaseHistory history;
  history.offsets.reserve(nn + 1);
  for (size_t c = 0; c < nn; ++c) {
    if (first_identified[c] < cutoff) {
      for (int64_t i = offsets[c]; i < offsets[c + 1]; ++i) {
        const Record& r = records[static_cast<size_t>(i)];
        if (r.ts_ms >= cutoff) break;
        if (r.kind != kPurchase) continue;
        history.ts_ms.push_back(r.ts_ms);
        history.amount.push_back(r.amount);
      }
    }
    history.offsets.push_back(static_cast<int64_t>(history.ts_ms.size()));
  }
  profile::RfmOptions rfm;
  rfm.calibration_end_ms = cutoff - 1;  // the day before a midnight cutoff is the last calibration day
  rfm.unit = profile::TimeUnit::kDay;
  rfm.utc_offset_ms = static_cast<int64_t>(tz) * 60'000;
  StatusOr<profile::RfmSummary> rs = profile::BuildRfmSummary(history, rfm);
  if (!rs.ok()) {
    summary.clv_note = "RFM summary: " + rs.status().message();
    return;
  }
  StatusOr<profile::BgNbdFit> fit = profile::FitBgNbdForScoring(*rs, options.fit, &summary.clv_note);
  if (!fit.ok()) {
    summary.clv_note = "BG/NBD: " + fit.status().message();
    return;
  }
  summary.clv_fitted = true;
  summary.bgnbd = fit->params;
  const double horizon_days = static_cast<double>(options.horizon_ms) / kDayMs;
  for (size_t i = 0; i < rs->size(); ++i) {
    const auto c = static_cast<size_t>(rs->customer[i]);
    expected[c] = static_cast<float>(
        profile::BgNbdExpectedPurchases(fit->params, horizon_days, rs->x[i], rs->t_x[i], rs->T[i]));
    alive[c] = static_cast<float>(profile::BgNbdProbabilityAlive(fit->params, rs->x[i], rs->t_x[i], rs->T[i]));
  }
}

StatusOr<FeatureTable> FeatureBuilder::Finish() {
  State& s = *s_;
  const auto start = std::chrono::steady_clock::now();
  if (s.finished) return FailedPrecondition("features: Finish() called twice");
  s.finished = true;
  if (s.options.cutoffs_ms.empty()) return InvalidArgument("features: no cutoff given");
  if (s.options.horizon_ms <= 0) return InvalidArgument("features: the horizon must be positive");
  for (int d : s.options.window_days) {
    if (d <= 0) return InvalidArgument("features: window days must be positive");
  }
  s.SortByCustomer();

  // Columns: channels seen before the latest cutoff, in the configured order.
  std::vector<uint8_t> channel_used(s.channels.size(), 0);
  for (const Record& r : s.records) {
    if (r.ts_ms < s.max_cutoff) channel_used[r.channel] = 1;
  }
  std::vector<int> channel_col(s.channels.size(), -1);  // channel -> position among the columns' channels
  s.stats.channels.clear();
  for (size_t i = 0; i < s.channels.size(); ++i) {
    if (!channel_used[i]) continue;
    channel_col[i] = static_cast<int>(s.stats.channels.size());
    s.stats.channels.push_back(s.channels[i]);
  }
  const std::vector<int32_t> top = s.TopCategories();
  std::vector<int> category_col(s.categories.size(), -1);
  s.stats.categories.clear();
  for (size_t k = 0; k < top.size(); ++k) {
    category_col[static_cast<size_t>(top[k])] = static_cast<int>(k);
    s.stats.categories.push_back(s.categories.names()[static_cast<size_t>(top[k])]);
  }

  FeatureTable table;
  table.columns = FeatureColumns(s.stats.channels, s.stats.categories, s.options.window_days);
  const auto width = static_cast<size_t>(table.cols());
  const size_t n_ch = s.stats.channels.size();
  const size_t n_cat = top.size();
  const size_t n_win = s.options.window_days.size();
  // Column positions (FeatureColumns' order).
  const size_t col_channels = 10;
  const size_t col_windows = col_channels + 3 * n_ch;
  const size_t col_unbought = col_windows + 4 * n_win;
  const size_t col_categories = col_unbought + 1;
  const size_t col_bgnbd = col_categories + 2 * n_cat;
  OMNI_CHECK(col_bgnbd + 2 == width);

  // Scratch, reused across customers and cutoffs.
  std::vector<int64_t> ch_events(n_ch), ch_orders(n_ch);
  std::vector<double> ch_money(n_ch), cat_spend(n_cat), cat_views(n_cat);
  std::vector<std::pair<int32_t, int64_t>> views, carts, buys;  // (item, ts)
  std::vector<int64_t> window_start(n_win);
  std::vector<float> expected, alive;
  std::vector<float> row(width);

  for (const int64_t T : s.options.cutoffs_ms) {
    CutoffSummary summary;
    summary.cutoff_ms = T;
    summary.label_complete = T + s.options.horizon_ms <= s.stats.max_event_ms;
    s.FitClv(T, expected, alive, summary);
    const int64_t label_end = T + s.options.horizon_ms;
    for (size_t w = 0; w < n_win; ++w) window_start[w] = T - s.options.window_days[w] * kDayMs;
    const int64_t widest = n_win > 0 ? *std::min_element(window_start.begin(), window_start.end()) : T;

    for (int32_t c = 0; c < s.n; ++c) {
      const auto cu = static_cast<size_t>(c);
      const int64_t begin = s.offsets[cu], end = s.offsets[cu + 1];
      if (begin == end || s.records[static_cast<size_t>(begin)].ts_ms >= T) continue;
      std::fill(ch_events.begin(), ch_events.end(), 0);
      std::fill(ch_orders.begin(), ch_orders.end(), 0);
      std::fill(ch_money.begin(), ch_money.end(), 0.0);
      std::fill(cat_spend.begin(), cat_spend.end(), 0.0);
      std::fill(cat_views.begin(), cat_views.end(), 0.0);
      views.clear();
      carts.clear();
      buys.clear();
      int64_t events = 0, orders = 0, last_event = 0, last_purchase = -1, all_views = 0;
      double gross = 0, refunds = 0;
      const int64_t first_event = s.records[static_cast<size_t>(begin)].ts_ms;
      int64_t i = begin;
      for (; i < end; ++i) {
        const Record& r = s.records[static_cast<size_t>(i)];
        if (r.ts_ms >= T) break;
        ++events;
        last_event = r.ts_ms;
        const int col = channel_col[r.channel];
        if (col >= 0) ++ch_events[static_cast<size_t>(col)];
        const int32_t cat = r.item >= 0 ? s.item_category[static_cast<size_t>(r.item)] : -1;
        const int cc = cat >= 0 ? category_col[static_cast<size_t>(cat)] : -1;
        switch (r.kind) {
          case kView:
            ++all_views;
            if (cc >= 0) cat_views[static_cast<size_t>(cc)] += 1;
            if (r.item >= 0) views.emplace_back(r.item, r.ts_ms);
            break;
          case kCart:
            if (r.item >= 0 && r.ts_ms > widest) carts.emplace_back(r.item, r.ts_ms);
            break;
          case kPurchase:
            gross += r.amount;
            last_purchase = r.ts_ms;
            if (r.flags & kFirstOfOrder) ++orders;
            if (col >= 0) {
              ch_money[static_cast<size_t>(col)] += r.amount;
              if (r.flags & kFirstOfChannelOrder) ++ch_orders[static_cast<size_t>(col)];
            }
            if (cc >= 0) cat_spend[static_cast<size_t>(cc)] += r.amount;
            if (r.item >= 0) buys.emplace_back(r.item, r.ts_ms);
            break;
          case kRefund:
            refunds += r.amount;
            if (col >= 0) ch_money[static_cast<size_t>(col)] -= r.amount;
            break;
          default:
            break;
        }
      }
      bool label = false;
      for (; i < end && !label; ++i) {
        const Record& r = s.records[static_cast<size_t>(i)];
        if (r.ts_ms > label_end) break;
        label = r.kind == kPurchase && r.ts_ms > T;
      }

      float* v = row.data();
      auto days = [](int64_t ms) { return static_cast<float>(static_cast<double>(ms) / kDayMs); };
      v[0] = last_purchase >= 0 ? days(T - last_purchase) : kNaN;
      v[1] = days(T - last_event);
      v[2] = days(T - first_event);
      v[3] = static_cast<float>(events);
      v[4] = s.first_identified[cu] < T ? 1.0f : 0.0f;
      v[5] = static_cast<float>(orders);
      v[6] = static_cast<float>(gross - refunds);
      v[7] = static_cast<float>(gross);
      v[8] = orders > 0 ? static_cast<float>(gross / static_cast<double>(orders)) : kNaN;
      v[9] = gross > 0 ? static_cast<float>(refunds / gross) : (refunds > 0 ? 1.0f : 0.0f);
      for (size_t k = 0; k < n_ch; ++k) {
        v[col_channels + 3 * k] = static_cast<float>(ch_orders[k]);
        v[col_channels + 3 * k + 1] = static_cast<float>(ch_money[k]);
        v[col_channels + 3 * k + 2] = static_cast<float>(static_cast<double>(ch_events[k]) / static_cast<double>(events));
      }

      // Recent windows. Purchases sorted by (item, ts) for look-ups: an item
      // counts as bought after a view when a purchase of it is at or after the
      // view (and, being a record before T, before the cutoff).
      std::sort(buys.begin(), buys.end());
      auto bought_since = [&](int32_t item, int64_t ts) {
        auto it = std::lower_bound(buys.begin(), buys.end(), std::make_pair(item, ts));
        return it != buys.end() && it->first == item;
      };
      // Latest view of an item not bought since: views are in time order.
      float unbought = kNaN;
      for (auto it = views.rbegin(); it != views.rend(); ++it) {
        if (!bought_since(it->first, it->second)) {
          unbought = days(T - it->second);
          break;
        }
      }
      v[col_unbought] = unbought;
      // Views of the widest window by (item, ts): each item's first view in a
      // window is its first element with ts > window start.
      auto recent = std::lower_bound(views.begin(), views.end(), widest + 1,
                                     [](const std::pair<int32_t, int64_t>& a, int64_t t) { return a.second < t; });
      views.erase(views.begin(), recent);
      std::sort(views.begin(), views.end());
      for (size_t w = 0; w < n_win; ++w) {
        const int64_t ws = window_start[w];  // exclusive
        int64_t n_views = 0, n_carts = 0, browse = 0, abandon = 0;
        for (size_t a = 0; a < views.size();) {
          const int32_t item = views[a].first;
          int64_t first_view = -1;
          size_t b = a;
          for (; b < views.size() && views[b].first == item; ++b) {
            if (views[b].second > ws) {
              ++n_views;
              if (first_view < 0) first_view = views[b].second;
            }
          }
          a = b;
          if (first_view >= 0 && !bought_since(item, first_view)) ++browse;
        }
        for (const auto& [item, ts] : carts) {
          if (ts <= ws) continue;
          ++n_carts;
          if (!bought_since(item, ts)) ++abandon;
        }
        v[col_windows + w] = static_cast<float>(n_views);
        v[col_windows + n_win + w] = static_cast<float>(n_carts);
        v[col_windows + 2 * n_win + w] = static_cast<float>(browse);
        v[col_windows + 3 * n_win + w] = static_cast<float>(abandon);
      }

      for (size_t k = 0; k < n_cat; ++k) {
        v[col_categories + 2 * k] = gross > 0 ? static_cast<float>(cat_spend[k] / gross) : 0.0f;
        v[col_categories + 2 * k + 1] =
            all_views > 0 ? static_cast<float>(cat_views[k] / static_cast<double>(all_views)) : 0.0f;
      }
      v[col_bgnbd] = expected[cu];
      v[col_bgnbd + 1] = alive[cu];

      table.customer_keys.push_back(s.directory.CustomerKey(c));
      table.cutoff_ms.push_back(T);
      table.values.insert(table.values.end(), row.begin(), row.end());
      table.label.push_back(label ? 1.0f : 0.0f);
      ++summary.rows;
      summary.positives += label;
    }
    s.stats.cutoffs.push_back(std::move(summary));
  }
  s.stats.finish_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return table;
}

StatusOr<FeatureTable> BuildFeatures(const std::string& data_dir, store::Store& store,
                                     const identity::CustomerDirectory& directory, const FeatureOptions& options,
                                     FeatureBuildStats* stats) {
  FeatureBuilder builder(directory, options);
  OMNI_RETURN_IF_ERROR(store.ScanItems([&](const ingest::Item& item) {
    builder.AddItem(item);
    return true;
  }));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::EventColumns> columns, store::EventColumns::Open(data_dir, store));
  builder.AddEvents(*columns);
  StatusOr<FeatureTable> table = builder.Finish();
  if (stats) *stats = builder.stats();
  return table;
}

}  // namespace omni::predict
