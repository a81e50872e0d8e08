#include "omni/profile/profile_builder.h"

#include <algorithm>
#include <thread>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "omni/profile/event_source.h"
#include "omni/profile/consent.h"
#include "omni/profile/group_by_customer.h"
#include "omni/profile/interning.h"

namespace omni::profile {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kDaySec = 86'400;

// What an activity record is. The order matters: records of one second sort
// browse before purchase, so a view and the purchase it led to in the same
// second count as "viewed, then bought".
enum Kind : uint8_t { kStoreVisit = 0, kView = 1, kCart = 2, kPurchase = 3, kRefund = 4 };

enum class EventKind { kView, kCart, kPurchase, kRefund, kStoreVisit, kConsent, kOther };

EventKind KindOf(std::string_view type) {
  if (type == "view") return EventKind::kView;
  if (type == "purchase") return EventKind::kPurchase;
  if (type == "add_to_cart") return EventKind::kCart;
  if (type == "refund") return EventKind::kRefund;
  if (type == "store_visit") return EventKind::kStoreVisit;
  if (type == "consent") return EventKind::kConsent;
  return EventKind::kOther;
}

// 16 bytes per item event: this buffer is the build's main memory cost.
struct Activity {
  uint32_t customer;
  uint32_t ts_sec;  // seconds since the epoch (ingest accepts 1970..2100)
  int32_t ref;      // item index (view, cart, visit; -1 = none) or line index (purchase, refund)
  uint8_t kind;
  uint8_t channel;
  uint16_t unused = 0;
};
static_assert(sizeof(Activity) == 16);

// A purchase or refund line.
struct Line {
  uint64_t order_key;  // hash of order_id; of the event itself when it has none
  double amount;       // quantity x unit price, >= 0 (a refund's value is positive too)
  int32_t item;        // -1 = none
};

int64_t DaysBetween(int64_t from_ms, int64_t to_ms) {
  const int64_t d = to_ms - from_ms;
  return d >= 0 ? d / kDayMs : -((-d + kDayMs - 1) / kDayMs);
}

// Weights per id (category or brand) of one customer, summed in a dense
// array that is reset through the list of ids touched: the ids come from the
// whole catalogue, a customer touches a few dozen.
class AffinityTally {
 public:
  // Room for ids [0, names): Add then never grows (it runs for every
  // weighted record of every customer, and the growth check kept it from
  // being inlined).
  void Reserve(size_t names) {
    if (weight_.size() < names) weight_.resize(names, 0.0);
  }
  [[gnu::always_inline]] void Add(int32_t id, double weight) {
    const auto i = static_cast<size_t>(id);
    if (i >= weight_.size()) [[unlikely]] weight_.resize(i + 1, 0.0);
    if (weight_[i] == 0) touched_.push_back(id);
    weight_[i] += weight;
  }

  // Top `k` (name, weight, share), strongest first; ties by name so output
  // is stable (`name_rank`: each id's place in name order, so a tie costs an
  // integer compare, not a string one). Resets the tally.
  // `out` is overwritten element by element: the names (category paths run
  // past the short-string buffer) reuse the strings of the previous profile.
  void TakeTop(const std::vector<std::string>& names, const std::vector<int32_t>& name_rank, int k,
               std::vector<Affinity>& out) {
    double total = 0;
    for (int32_t id : touched_) total += weight_[static_cast<size_t>(id)];
    const size_t n = std::min(touched_.size(), static_cast<size_t>(std::max(k, 0)));
    auto stronger = [&](int32_t a, int32_t b) {
      const double wa = weight_[static_cast<size_t>(a)];
      const double wb = weight_[static_cast<size_t>(b)];
      if (wa != wb) return wa > wb;
      return name_rank[static_cast<size_t>(a)] < name_rank[static_cast<size_t>(b)];
    };
    // The strongest n to the front, in order: an insertion into the short
    // sorted front (most names are weaker than the n-th and cost one
    // compare), which is the order partial_sort gives (`stronger` is a
    // strict total order: ties go by name rank) without building a heap.
    for (size_t i = 0; i < touched_.size(); ++i) {
      size_t j = i;
      if (i >= n) {
        if (n == 0 || !stronger(touched_[i], touched_[n - 1])) continue;
        std::swap(touched_[i], touched_[n - 1]);
        j = n - 1;
      }
      for (; j > 0 && stronger(touched_[j], touched_[j - 1]); --j) std::swap(touched_[j], touched_[j - 1]);
    }
    out.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const double w = weight_[static_cast<size_t>(touched_[i])];
      out[i].name = names[static_cast<size_t>(touched_[i])];
      out[i].weight = w;
      out[i].share = total > 0 ? w / total : 0;
    }
    for (int32_t id : touched_) weight_[static_cast<size_t>(id)] = 0;
    touched_.clear();
  }

 private:
  std::vector<double> weight_;
  std::vector<int32_t> touched_;
};

// Purchases per UTC offset in minutes: counters for the offsets in use
// (-14:00 to +14:00), a map for anything else. Counted once per purchase, so
// the usual case must not hash.
class TzCounts {
 public:
  void Add(int32_t tz, int64_t n = 1) {
    if (tz >= -kSpan && tz <= kSpan) {
      counts_[static_cast<size_t>(tz + kSpan)] += n;
    } else {
      other_[tz] += n;
    }
  }
  void AddAll(const TzCounts& o) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    for (const auto& [tz, n] : o.other_) other_[tz] += n;
  }
  // f(offset, purchases) for every offset with purchases.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] != 0) f(static_cast<int32_t>(i) - kSpan, counts_[i]);
    }
    for (const auto& [tz, n] : other_) f(tz, n);
  }

 private:
  static constexpr int32_t kSpan = 14 * 60;
  std::array<int64_t, 2 * kSpan + 1> counts_{};
  absl::flat_hash_map<int32_t, int64_t> other_;
};

}  // namespace

struct ProfileBuilder::State {
  State(const identity::CustomerDirectory& d, ProfileOptions o) : directory(d), options(std::move(o)) {}

  const identity::CustomerDirectory& directory;
  ProfileOptions options;
  ProfileBuildStats stats;
  int32_t n = 0;  // customers in the directory
  int k_recent = 0;

  // Channels: name, online / in-store flags, and per-channel event counts per customer.
  ChannelInterner channels;
  std::vector<uint8_t> online;
  std::vector<uint8_t> in_store;
  // Events per customer and channel, customer-major (one row of
  // channel_stride counters per customer, next to each other in memory).
  std::vector<int32_t> channel_events;
  size_t channel_stride = 0;

  // Per customer.
  // What every event updates, in one 24-byte record per customer: the
  // per-event work is dominated by cache misses on per-customer state.
  struct CustomerAcc {
    int64_t first_seen = std::numeric_limits<int64_t>::max();
    int64_t last_seen = std::numeric_limits<int64_t>::min();
    int32_t events = 0;
    uint8_t identified = 0;
    uint16_t ring = 0;  // events % k_recent, the slot of `recent` the next event takes (no division per event)
  };
  static_assert(sizeof(CustomerAcc) == 24);
  std::vector<CustomerAcc> acc;
  std::array<bool, ingest::kIdentityTypeCount> strong{};
  std::vector<uint32_t> recent;  // n * k_recent ring of seq - seq_base
  int64_t seq_base = -1;
  // Consent per customer, by dense id: read in customer order by Assemble
  // (a hash map keyed by customer cost a cache miss per profile there).
  std::vector<std::vector<ConsentState>> consent;

  // Items, categories, brands.
  NameInterner items;
  std::vector<int32_t> item_category;  // by item id: category id, -1 = none
  std::vector<int32_t> item_brand;     // by item id: brand id, -1 = none
  NameInterner categories;
  NameInterner brands;
  std::vector<int32_t> category_rank, brand_rank;  // by id: place in name order (Finish)

  std::vector<Activity> activities;
  std::vector<Line> lines;
  std::vector<int64_t> offsets;  // n + 1, into activities once sorted
  TzCounts purchase_tz;

  // Finish() results, per customer.
  bool finished = false;
  std::vector<double> recency, frequency, monetary;
  std::vector<uint8_t> r, f, m;
  std::vector<double> expected, alive, clv;

  int ChannelIndex(std::string_view name) {
    bool added = false;
    const int i = channels.Index(name, &added);
    if (added) AddChannel(name);
    return i;
  }

  // A channel's flags and room for its counters.
  void AddChannel(std::string_view name) {
    const auto& on = options.online_channels;
    const auto& st = options.in_store_channels;
    online.push_back(std::find(on.begin(), on.end(), name) != on.end());
    in_store.push_back(std::find(st.begin(), st.end(), name) != st.end());
    if (channels.size() > channel_stride) {
      // Re-layout with room to spare; happens once per unexpected channel at most.
      const size_t stride = channels.size() + 4;
      std::vector<int32_t> wider(static_cast<size_t>(n) * stride, 0);
      for (size_t c = 0; c < static_cast<size_t>(n); ++c) {
        for (size_t k = 0; k < channel_stride; ++k) wider[c * stride + k] = channel_events[c * channel_stride + k];
      }
      channel_events = std::move(wider);
      channel_stride = stride;
    }
  }

  int32_t ItemIndex(std::string_view item_id) {
    const int32_t id = items.Index(item_id);
    // Not in the catalogue: still needs an index to match views to purchases.
    if (id >= 0 && static_cast<size_t>(id) == item_category.size()) {
      item_category.push_back(-1);
      item_brand.push_back(-1);
    }
    return id;
  }

  // What a scanning thread appends to: the builder's own lists, or a second
  // thread's, merged after the scan (AddEvents). Per-customer state (acc,
  // recent, channel_events) is written in place: each thread owns a range
  // of customers.
  struct Partial {
    std::vector<Activity>& activities;
    std::vector<Line>& lines;
    TzCounts& purchase_tz;
    std::vector<std::vector<ConsentState>>& consent;  // shared: each thread writes its own customers
    ProfileBuildStats& stats;  // the event counters only
  };
  Partial Own() { return Partial{activities, lines, purchase_tz, consent, stats}; }

  // Fields are written into the new element itself: a record built on the
  // stack field by field and then copied whole made every push wait for the
  // narrow stores to reach the wide load (a store-forwarding stall that was
  // most of a push's cost).
  static void Push(std::vector<Activity>& activities, int32_t customer, int64_t ts_ms, int32_t ref, Kind kind,
                   int channel) {
    Activity& a = activities.emplace_back();
    a.customer = static_cast<uint32_t>(customer);
    a.ts_sec = static_cast<uint32_t>(ts_ms / 1000);
    a.ref = ref;
    a.kind = kind;
    a.channel = static_cast<uint8_t>(channel);
  }

  std::pair<int64_t, int64_t> Range(int32_t c) const {
    return {offsets[static_cast<size_t>(c)], offsets[static_cast<size_t>(c) + 1]};
  }

  template <typename Source>
  void Add(int64_t seq, const Source& e, Partial& out);

  // Asks the memory for customer c's per-customer state a few events before
  // Add needs it. The customers of consecutive events are scattered over
  // arrays of tens of megabytes, so without this each event waits for three
  // cache misses in turn; with it the misses of several events overlap.
  void Prefetch(int32_t c) const {
    if (c < 0 || c >= n) return;
    const auto cu = static_cast<size_t>(c);
    __builtin_prefetch(&acc[cu], 1);
    __builtin_prefetch(&channel_events[cu * channel_stride], 1);
    if (k_recent > 0) {
      const uint32_t* row = &recent[cu * static_cast<size_t>(k_recent)];
      __builtin_prefetch(row, 1);
      __builtin_prefetch(row + std::min(k_recent - 1, 16), 1);
    }
  }
  static constexpr int64_t kPrefetchAhead = 40;  // events (12 and 24 hid fewer of the misses)
  void SortByCustomer();
  void ComputeRfm();
  void ComputeClv();
  // Working memory of Assemble, reused from one customer to the next (a
  // build assembles hundreds of thousands of profiles; allocating these for
  // each was a large share of the write phase). One per assembling thread.
  struct Scratch {
    struct ChannelAcc {
      int64_t orders = 0;
      double monetary = 0;
      int64_t last_purchase_ms = 0;
    };
    std::vector<ChannelAcc> per_channel;
    std::vector<std::pair<uint8_t, uint64_t>> channel_orders;
    std::vector<uint64_t> all_orders;
    std::vector<uint64_t> showroom_orders;
    AffinityTally categories, brands;
    absl::flat_hash_map<int32_t, uint32_t> online_browse;  // item -> last online view/cart
    std::vector<std::pair<int32_t, uint32_t>> w_views, w_carts, w_buys;  // (item, ts) in the last 30 days
  };
  // Fills `p` (every field) with customer c's profile. `p` is the previous
  // customer's: its lists and strings are overwritten in place, so a build
  // does not allocate them again for each of its hundreds of thousands of
  // profiles.
  void Assemble(int32_t c, Scratch& scratch, Profile& p) const;
};

ProfileBuilder::ProfileBuilder(const identity::CustomerDirectory& directory, ProfileOptions options)
    : s_(std::make_unique<State>(directory, std::move(options))) {
  State& s = *s_;
  s.n = directory.customer_count();
  s.k_recent = std::clamp(s.options.recent_events, 0, 65535);  // CustomerAcc::ring is 16 bits
  const auto n = static_cast<size_t>(s.n);
  s.acc.assign(n, State::CustomerAcc{});
  s.consent.resize(n);
  for (ingest::IdentityType t : s.options.strong_types) s.strong[static_cast<size_t>(t)] = true;
  s.recent.assign(n * static_cast<size_t>(s.k_recent), 0);
  s.channel_stride = s.options.channels.size() + 4;
  s.channel_events.assign(n * s.channel_stride, 0);
  for (const std::string& c : s.options.channels) s.ChannelIndex(c);
  if (s.options.expected_events > 0) s.activities.reserve(static_cast<size_t>(s.options.expected_events));
}

ProfileBuilder::~ProfileBuilder() = default;

const ProfileBuildStats& ProfileBuilder::stats() const { return s_->stats; }

void ProfileBuilder::AddItem(const ingest::Item& item) {
  State& s = *s_;
  const int32_t id = s.ItemIndex(item.item_id);
  if (id < 0) return;
  s.item_category[static_cast<size_t>(id)] = s.categories.Index(item.category_path);
  s.item_brand[static_cast<size_t>(id)] = s.brands.Index(item.brand);
  ++s.stats.items;
}

// One accumulation for both inputs (event_source.h: an ingest::Event or a
// row of the columnar snapshot).
template <typename Source>
void ProfileBuilder::State::Add(int64_t seq, const Source& e, Partial& out) {
  ++out.stats.events_read;
  const int64_t ts_ms = e.ts_ms();
  if (ts_ms > options.as_of_ms) {
    ++out.stats.events_after_as_of;
    return;
  }
  bool identified = false;
  const int32_t c = e.Customer(&identified);
  if (c < 0 || c >= n) {
    ++out.stats.events_unattributed;
    return;
  }
  ++out.stats.events_used;
  const auto cu = static_cast<size_t>(c);
  CustomerAcc& a = acc[cu];
  a.first_seen = std::min(a.first_seen, ts_ms);
  a.last_seen = std::max(a.last_seen, ts_ms);
  if (k_recent > 0) {
    if (seq_base < 0) seq_base = seq;
    const int64_t rel = seq - seq_base;
    if (rel >= 0 && rel <= std::numeric_limits<uint32_t>::max()) {
      recent[cu * static_cast<size_t>(k_recent) + a.ring] = static_cast<uint32_t>(rel);
    }
    if (++a.ring == k_recent) a.ring = 0;
  }
  ++a.events;
  if (identified) a.identified = 1;
  const int ch = e.Channel(*this);
  if (ch < 0) return;
  ++channel_events[cu * channel_stride + static_cast<size_t>(ch)];

  const EventKind kind = e.Kind();
  switch (kind) {
    case EventKind::kView:
    case EventKind::kCart: {
      const int32_t item = e.Item(*this);
      // A view without an item (a page, a store's kiosk menu) still says
      // "was in the store" when it happened there.
      if (item >= 0 || in_store[static_cast<size_t>(ch)]) {
        Push(out.activities, c, ts_ms, item, kind == EventKind::kView ? kView : kCart, ch);
      }
      break;
    }
    case EventKind::kPurchase:
    case EventKind::kRefund: {
      const bool refund = kind == EventKind::kRefund;
      const double amount = e.Quantity().value_or(1.0) * e.Price().value_or(0.0);
      const std::string_view order_id = e.OrderId();
      uint64_t order_key;
      if (!order_id.empty()) {
        order_key = absl::HashOf(absl::string_view(order_id.data(), order_id.size()));
      } else {
        order_key = absl::HashOf(seq, 0x6f72646572ULL);  // an order by itself
      }
      const auto line = static_cast<int32_t>(out.lines.size());
      const int32_t item = e.Item(*this);
      Line& l = out.lines.emplace_back();  // in place, as in Push
      l.order_key = order_key;
      l.amount = std::max(0.0, amount);
      l.item = item;
      Push(out.activities, c, ts_ms, line, refund ? kRefund : kPurchase, ch);
      if (!refund) out.purchase_tz.Add(e.TzOffsetMin());
      break;
    }
    case EventKind::kStoreVisit:
      Push(out.activities, c, ts_ms, -1, kStoreVisit, ch);
      break;
    case EventKind::kConsent: {
      std::optional<ConsentChange> change = ParseConsentProperties(e.Properties());
      if (!change) {
        ++out.stats.consent_events_invalid;
        break;
      }
      ApplyConsent(out.consent[cu], change->channel, change->granted, ts_ms);
      break;
    }
    case EventKind::kOther:
      break;
  }
}

void ProfileBuilder::AddEvent(int64_t seq, const ingest::Event& e) {
  State::Partial own = s_->Own();
  s_->Add(seq, EventSource<EventKind>(e, s_->directory, s_->strong, &KindOf), own);
}

void ProfileBuilder::AddEvents(const store::EventColumns& columns, const std::vector<int64_t>* first_seqs) {
  State& s = *s_;
  const auto start = std::chrono::steady_clock::now();
  const ColumnAttribution attribution(columns, s.directory, s.options.strong_types, first_seqs);
  spdlog::debug("profiles: attribution table of {} identifiers in {:.2f} s", columns.identity_count(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  ColumnMaps<EventKind> maps(columns, &KindOf);
  AttributedBlocks attributed(columns, attribution);
  const auto& blocks = columns.blocks();
  // Room for every purchase and refund line up front (a byte per event to
  // count): growing by doubling copied the lines and touched twice the
  // memory. Room a thread does not fill is never touched, so each thread's
  // list may be given all of it.
  size_t line_events = 0;
  for (const store::EventColumnBlock& b : blocks) {
    for (int64_t row = 0; row < b.rows; ++row) {
      const EventKind kind = maps.kind[b.type[row]];
      line_events += kind == EventKind::kPurchase || kind == EventKind::kRefund;
    }
  }
  s.lines.reserve(s.lines.size() + line_events);
  // Two threads, each taking the events of its half of the customers, when
  // they can share the channel and item maps read-only: every channel the
  // snapshot names is already known (the configured list; an unexpected one
  // gets its index on first use, in event order, so such a snapshot is read
  // on one thread), and every item gets its index now. Item indices are
  // internal (nothing a profile shows depends on their order); channel
  // indices order ties in the channel list, so they must not change.
  bool split = columns.rows() >= s.options.two_thread_scan_min_events && s.n >= 2;
  for (size_t i = 0; split && i < maps.channel.size(); ++i) {
    const std::vector<std::string>& known = s.channels.names();
    const auto it = std::find(known.begin(), known.end(), columns.channels()[i]);
    if (it == known.end()) split = false;
    maps.channel[i] = static_cast<int>(it - known.begin());
  }
  if (!split) {
    std::fill(maps.channel.begin(), maps.channel.end(), -2);
    State::Partial own = s.Own();
    for (size_t k = 0; k < blocks.size(); ++k) {
      const store::EventColumnBlock& b = blocks[k];
      const AttributedBlocks::Rows customers = attributed.Block(k);
      for (int64_t row = 0; row < b.rows; ++row) {
        if (row + State::kPrefetchAhead < b.rows) s.Prefetch(customers.customer[row + State::kPrefetchAhead]);
        s.Add(b.seq[row], ColumnSource<EventKind>(columns, b, row, customers, maps), own);
      }
    }
    return;
  }
  for (size_t i = 0; i < maps.item.size(); ++i) maps.item[i] = s.ItemIndex(columns.items()[i]);
  // Recent-event seqs are kept relative to one base: fix it before the
  // threads start (the one-thread scan takes the first used event's seq; the
  // seqs stored are the same either way).
  if (s.k_recent > 0 && s.seq_base < 0 && !blocks.empty() && blocks.front().rows > 0) {
    s.seq_base = blocks.front().seq[0];
  }
  // Customers in alternate runs of 64 dense ids: the even runs on this
  // thread, the odd runs and the events of no customer on the other. Runs,
  // not alternate ids, so the two threads seldom write the same cache line of
  // the per-customer arrays (64 customers' slots are a multiple of 64 bytes in
  // each: only a line at a run's edge can be shared, when an array does not
  // start on a line);
  // alternate runs, not the lower and upper half, because dense ids follow
  // first appearance: the early customers have most of the events (on the
  // 10M demo the lower half had 76% of the records, and its thread was the
  // scan's length).
  constexpr int kRunBits = 6;
  auto on_this_thread = [](int32_t c) { return c >= 0 && ((c >> kRunBits) & 1) == 0; };
  std::vector<Activity> activities;
  std::vector<Line> lines;
  TzCounts purchase_tz;
  ProfileBuildStats stats;
  activities.reserve(static_cast<size_t>(columns.rows() / 2 + columns.rows() / 8));
  lines.reserve(line_events);
  State::Partial second{activities, lines, purchase_tz, s.consent, stats};
  auto scan = [&](bool upper, State::Partial& out) {
    for (size_t k = 0; k < blocks.size(); ++k) {
      const store::EventColumnBlock& b = blocks[k];
      const AttributedBlocks::Rows customers = attributed.Block(k);
      for (int64_t row = 0; row < b.rows; ++row) {
        if (row + State::kPrefetchAhead < b.rows) {
          const int32_t ahead = customers.customer[row + State::kPrefetchAhead];
          if (on_this_thread(ahead) != upper) s.Prefetch(ahead);
        }
        const int32_t c = customers.customer[row];
        if (on_this_thread(c) == upper) continue;
        s.Add(b.seq[row], ColumnSource<EventKind>(columns, b, row, customers, maps), out);
      }
    }
  };
  s.stats.scan_threads = 2;
  std::thread other([&] { scan(true, second); });
  State::Partial own = s.Own();
  scan(false, own);
  other.join();
  // Merge. Customers are disjoint, so the order of the two threads' records
  // does not matter (the sort by customer is stable within each); line
  // references of the second thread move past the first's lines.
  const auto line_offset = static_cast<int32_t>(s.lines.size());
  for (Activity& a : activities) {
    if (a.kind == kPurchase || a.kind == kRefund) a.ref += line_offset;
  }
  s.activities.insert(s.activities.end(), activities.begin(), activities.end());
  s.lines.insert(s.lines.end(), lines.begin(), lines.end());
  s.purchase_tz.AddAll(purchase_tz);
  // Consent needs no merge: each thread applied its customers' events, in
  // order, to their own slots.
  s.stats.events_read += stats.events_read;
  s.stats.events_after_as_of += stats.events_after_as_of;
  s.stats.events_unattributed += stats.events_unattributed;
  s.stats.events_used += stats.events_used;
  s.stats.consent_events_invalid += stats.consent_events_invalid;
}

// Customer-major order by a stable LSD radix sort on the customer (11-bit
// digits: two passes up to 4M customers, each a sequential read and 2048
// write streams, so it runs at memory speed). Being stable, it keeps each
// customer's records in arrival order, which is nearly time order, so the
// per-customer sort that follows is mostly an already-sorted check. Costs a
// second buffer of the same size while it runs.
void ProfileBuilder::State::SortByCustomer() {
  const auto nn = static_cast<size_t>(n);
  GroupByCustomer(activities, nn, offsets);
  auto by_time = [](const Activity& a, const Activity& b) {
    if (a.ts_sec != b.ts_sec) return a.ts_sec < b.ts_sec;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.ref < b.ref;
  };
  // Each customer's records on their own: two threads, half the records
  // each (not half the customers: the early customers have most of them).
  auto sort_customers = [&](size_t begin, size_t end) {
    for (size_t c = begin; c < end; ++c) {
      auto first = activities.begin() + offsets[c];
      auto last = activities.begin() + offsets[c + 1];
      if (!std::is_sorted(first, last, by_time)) std::sort(first, last, by_time);
    }
  };
  if (static_cast<int64_t>(activities.size()) >= options.two_thread_sort_min_records) {
    const auto mid = static_cast<size_t>(
        std::lower_bound(offsets.begin(), offsets.end() - 1, static_cast<int64_t>(activities.size() / 2)) -
        offsets.begin());
    std::thread other(sort_customers, mid, nn);
    sort_customers(0, mid);
    other.join();
  } else {
    sort_customers(0, nn);
  }
  // Purchase and refund lines in the order of the records that point at
  // them (customer, then time): RFM, CLV and Assemble then read them in
  // sequence instead of taking a cache miss per line. Renumbering keeps the
  // order above (refs of one customer's equal-time records stay increasing).
  // Every line has exactly one record pointing at it.
  auto is_line = [](const Activity& a) { return a.kind == kPurchase || a.kind == kRefund; };
  std::vector<Line> ordered(lines.size());
  // Records [begin, end) renumber their lines from `next` on; returns the
  // number after the last. The lines are read in customer order, i.e.
  // scattered: ask for the line of a record further on while copying this one.
  auto renumber = [&](size_t begin, size_t end, size_t next) {
    constexpr size_t kAhead = 16;
    for (size_t i = begin; i < end; ++i) {
      if (i + kAhead < end && is_line(activities[i + kAhead])) {
        __builtin_prefetch(&lines[static_cast<size_t>(activities[i + kAhead].ref)]);
      }
      Activity& a = activities[i];
      if (!is_line(a)) continue;
      ordered[next] = lines[static_cast<size_t>(a.ref)];
      a.ref = static_cast<int32_t>(next++);
    }
    return next;
  };
  // Two threads, half the records each; the second counts the lines of the
  // first half to know where its own begin (a read of one byte a record).
  size_t lines_done = 0;
  if (static_cast<int64_t>(activities.size()) >= options.two_thread_sort_min_records) {
    const size_t mid = activities.size() / 2;
    std::thread other([&] {
      size_t first = 0;
      for (size_t i = 0; i < mid; ++i) first += is_line(activities[i]) ? 1 : 0;
      lines_done = renumber(mid, activities.size(), first);
    });
    renumber(0, mid, 0);
    other.join();
  } else {
    lines_done = renumber(0, activities.size(), 0);
  }
  OMNI_CHECK(lines_done == lines.size());
  lines.swap(ordered);
}

void ProfileBuilder::State::ComputeRfm() {
  const auto nn = static_cast<size_t>(n);
  recency.assign(nn, kNotAvailable);
  frequency.assign(nn, kNotAvailable);
  monetary.assign(nn, kNotAvailable);
  std::vector<uint64_t> orders;
  for (int32_t c = 0; c < n; ++c) {
    auto [begin, end] = Range(c);
    orders.clear();
    double gross = 0, refunded = 0;
    int64_t last_purchase_sec = -1;
    for (int64_t i = begin; i < end; ++i) {
      const Activity& a = activities[static_cast<size_t>(i)];
      if (a.kind == kPurchase) {
        const Line& l = lines[static_cast<size_t>(a.ref)];
        // An order's lines are mostly next to each other (one receipt, one
        // second): only a new key is kept, so the sort below is short.
        if (orders.empty() || orders.back() != l.order_key) orders.push_back(l.order_key);
        gross += l.amount;
        last_purchase_sec = a.ts_sec;  // records are in time order
      } else if (a.kind == kRefund) {
        refunded += lines[static_cast<size_t>(a.ref)].amount;
      }
    }
    if (orders.empty()) continue;
    std::sort(orders.begin(), orders.end());
    const auto distinct = std::unique(orders.begin(), orders.end()) - orders.begin();
    const auto cu = static_cast<size_t>(c);
    frequency[cu] = static_cast<double>(distinct);
    monetary[cu] = gross - refunded;
    recency[cu] = static_cast<double>(DaysBetween(last_purchase_sec * 1000, options.as_of_ms));
    ++stats.buyers;
    stats.orders += distinct;
  }
  r = QuintileScores(recency, /*higher_is_better=*/false);
  f = QuintileScores(frequency, true);
  m = QuintileScores(monetary, true);
}

void ProfileBuilder::State::ComputeClv() {
  const auto nn = static_cast<size_t>(n);
  expected.assign(nn, kNotAvailable);
  alive.assign(nn, kNotAvailable);
  clv.assign(nn, kNotAvailable);
  if (!options.fit_clv) {
    stats.clv_note = "CLV not requested";
    return;
  }
  // Days are calendar days where most purchases happen (e.g. +08:00 for a
  // Chinese retailer), so a late-evening and an early-morning purchase are
  // two shopping days, as a customer would count them.
  int64_t best = -1;
  purchase_tz.ForEach([&](int32_t tz, int64_t count) {
    if (count > best || (count == best && tz < stats.clv_utc_offset_min)) {
      best = count;
      stats.clv_utc_offset_min = tz;
    }
  });
  PurchaseHistory history;
  history.offsets.reserve(nn + 1);
  for (int32_t c = 0; c < n; ++c) {
    auto [begin, end] = Range(c);
    if (!acc[static_cast<size_t>(c)].identified) begin = end;  // anonymous: not in the fit
    for (int64_t i = begin; i < end; ++i) {
      const Activity& a = activities[static_cast<size_t>(i)];
      if (a.kind != kPurchase) continue;
      history.ts_ms.push_back(static_cast<int64_t>(a.ts_sec) * 1000);
      history.amount.push_back(lines[static_cast<size_t>(a.ref)].amount);
    }
    history.offsets.push_back(static_cast<int64_t>(history.ts_ms.size()));
  }
  RfmOptions rfm_options;
  rfm_options.calibration_end_ms = options.as_of_ms;
  rfm_options.unit = TimeUnit::kDay;
  rfm_options.utc_offset_ms = static_cast<int64_t>(stats.clv_utc_offset_min) * 60'000;
  StatusOr<RfmSummary> summary = BuildRfmSummary(history, rfm_options);
  if (!summary.ok()) {
    stats.clv_note = "RFM summary: " + summary.status().message();
    return;
  }
  StatusOr<BgNbdFit> bg = FitBgNbdForScoring(*summary, options.fit, &stats.clv_note);
  if (!bg.ok()) {
    stats.clv_note = "BG/NBD: " + bg.status().message();
    return;
  }
  stats.bgnbd = *bg;
  stats.clv_fitted = true;
  const BgNbdParams& p = bg->params;
  const RfmSummary& s = *summary;
  {
    // P(alive) and E[purchases] of every row, sharing the work rows have in common.
    std::vector<double> row_alive(s.size()), row_expected(s.size());
    if (Status st = BgNbdPredictions(p, options.expected_purchases_days, s, row_alive, row_expected); !st.ok()) {
      stats.clv_note = "BG/NBD predictions: " + st.message();
      return;
    }
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<size_t>(s.customer[i]);
      alive[c] = row_alive[i];
      expected[c] = row_expected[i];
    }
  }
  StatusOr<GammaGammaFit> gg = FitGammaGamma(s, options.fit);
  if (!gg.ok()) {
    stats.clv_note = "Gamma-Gamma: " + gg.status().message();
    return;
  }
  stats.gamma_gamma = *gg;
  stats.spend_fitted = true;
  std::vector<double> values(s.size());
  Status st = CustomerLifetimeValues(p, gg->params, s, options.clv, values);
  if (!st.ok()) {
    stats.clv_note = "CLV: " + st.message();
    return;
  }
  for (size_t i = 0; i < s.size(); ++i) clv[static_cast<size_t>(s.customer[i])] = values[i];
}

Status ProfileBuilder::Finish() {
  State& s = *s_;
  if (s.options.as_of_ms <= 0) return InvalidArgument("profile build: the as-of instant is not set");
  if (s.finished) return FailedPrecondition("profile build: Finish() called twice");
  const auto start = std::chrono::steady_clock::now();
  s.stats.activity_records = static_cast<int64_t>(s.activities.size());
  auto lap = [t = start]() mutable {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - t).count();
    t = now;
    return seconds;
  };
  s.SortByCustomer();
  s.stats.sort_seconds = lap();
  auto rank_names = [](const std::vector<std::string>& names) {
    std::vector<int32_t> by_name(names.size());
    for (size_t i = 0; i < names.size(); ++i) by_name[i] = static_cast<int32_t>(i);
    std::sort(by_name.begin(), by_name.end(),
              [&](int32_t a, int32_t b) { return names[static_cast<size_t>(a)] < names[static_cast<size_t>(b)]; });
    std::vector<int32_t> rank(names.size());
    for (size_t r = 0; r < by_name.size(); ++r) rank[static_cast<size_t>(by_name[r])] = static_cast<int32_t>(r);
    return rank;
  };
  s.category_rank = rank_names(s.categories.names());
  s.brand_rank = rank_names(s.brands.names());
  // RFM and CLV read the sorted records and write disjoint results (and
  // disjoint stats fields): one runs beside the other. Each reports its own
  // duration.
  std::thread rfm([&s] {
    const auto t = std::chrono::steady_clock::now();
    s.ComputeRfm();
    s.stats.rfm_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  });
  s.ComputeClv();
  s.stats.clv_seconds = lap();
  rfm.join();
  for (int32_t c = 0; c < s.n; ++c) {
    s.stats.customers += s.acc[static_cast<size_t>(c)].events > 0;
    s.stats.identified += s.acc[static_cast<size_t>(c)].identified;
  }
  s.finished = true;
  s.stats.finish_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

void ProfileBuilder::State::Assemble(int32_t c, Scratch& scratch, Profile& p) const {
  const auto cu = static_cast<size_t>(c);
  const int64_t as_of = options.as_of_ms;
  const int64_t as_of_sec = as_of / 1000;
  {
    // Everything back to its default but the storage of the lists, which
    // the code below overwrites (resize and assign, or clear and append).
    Profile reset;
    reset.customer_key.swap(p.customer_key);
    reset.channels.swap(p.channels);
    reset.preferred_channel.swap(p.preferred_channel);
    reset.categories.swap(p.categories);
    reset.brands.swap(p.brands);
    reset.consent.swap(p.consent);
    reset.recent_event_seqs.swap(p.recent_event_seqs);
    reset.preferred_channel.clear();
    reset.consent.clear();
    reset.recent_event_seqs.clear();
    p = std::move(reset);
  }
  p.customer_key = directory.CustomerKey(c);
  p.first_seen_ms = acc[cu].first_seen;
  p.last_seen_ms = acc[cu].last_seen;
  p.tenure_days = static_cast<double>(DaysBetween(p.first_seen_ms, as_of));
  p.events = acc[cu].events;
  p.identified = acc[cu].identified != 0;

  // Per channel: orders (distinct per channel), spend, last purchase.
  using ChannelAcc = Scratch::ChannelAcc;
  std::vector<ChannelAcc>& per_channel = scratch.per_channel;
  per_channel.assign(channels.size(), ChannelAcc{});
  auto& channel_orders = scratch.channel_orders;
  auto& all_orders = scratch.all_orders;
  auto& online_browse = scratch.online_browse;
  auto& showroom_orders = scratch.showroom_orders;
  auto& w_views = scratch.w_views;
  auto& w_carts = scratch.w_carts;
  auto& w_buys = scratch.w_buys;
  for (auto* v : {&all_orders, &showroom_orders}) v->clear();
  for (auto* v : {&w_views, &w_carts, &w_buys}) v->clear();
  channel_orders.clear();
  online_browse.clear();
  int64_t last_store_browse = -1;
  // Window records (item, ts) of the last 30 days.
  const int64_t widest = as_of_sec - kRecentWindowDays[2] * kDaySec;

  auto [begin, end] = Range(c);
  for (int64_t i = begin; i < end; ++i) {
    const Activity& a = activities[static_cast<size_t>(i)];
    const bool is_online = online[a.channel];
    const bool is_in_store = in_store[a.channel] || a.kind == kStoreVisit;
    int32_t item = -1;
    double weight = 0;
    switch (a.kind) {
      case kStoreVisit:
        last_store_browse = a.ts_sec;
        break;
      case kView:
      case kCart:
        item = a.ref;
        weight = a.kind == kView ? options.view_weight : options.cart_weight;
        if (item >= 0 && is_online) online_browse[item] = a.ts_sec;
        if (is_in_store) last_store_browse = a.ts_sec;
        if (item >= 0 && static_cast<int64_t>(a.ts_sec) > widest) {
          (a.kind == kView ? w_views : w_carts).emplace_back(item, a.ts_sec);
        }
        break;
      case kPurchase: {
        const Line& l = lines[static_cast<size_t>(a.ref)];
        item = l.item;
        weight = options.purchase_weight;
        ChannelAcc& ca = per_channel[a.channel];
        ca.monetary += l.amount;
        ca.last_purchase_ms = static_cast<int64_t>(a.ts_sec) * 1000;
        p.gross_sales += l.amount;
        if (p.first_purchase_ms == 0) p.first_purchase_ms = static_cast<int64_t>(a.ts_sec) * 1000;
        p.last_purchase_ms = static_cast<int64_t>(a.ts_sec) * 1000;
        // Keys repeating the previous line's (one receipt's lines) are left
        // out before the sort-and-unique below: same counts, shorter sorts.
        if (channel_orders.empty() || channel_orders.back() != std::make_pair(a.channel, l.order_key)) {
          channel_orders.emplace_back(a.channel, l.order_key);
        }
        if (all_orders.empty() || all_orders.back() != l.order_key) all_orders.push_back(l.order_key);
        if (is_in_store && item >= 0) {
          auto it = online_browse.find(item);
          if (it != online_browse.end() &&
              (static_cast<int64_t>(a.ts_sec) - it->second) * 1000 <= options.online_to_store_window_ms) {
            ++p.online_to_store;
          }
        }
        if (is_online && last_store_browse >= 0 &&
            (static_cast<int64_t>(a.ts_sec) - last_store_browse) * 1000 <= options.store_to_online_window_ms) {
          if (showroom_orders.empty() || showroom_orders.back() != l.order_key) showroom_orders.push_back(l.order_key);
        }
        if (item >= 0 && static_cast<int64_t>(a.ts_sec) > widest) w_buys.emplace_back(item, a.ts_sec);
        break;
      }
      case kRefund: {
        const Line& l = lines[static_cast<size_t>(a.ref)];
        per_channel[a.channel].monetary -= l.amount;
        p.refunds += l.amount;
        break;
      }
      default:
        break;
    }
    if (item >= 0 && weight > 0) {
      const int32_t cat = item_category[static_cast<size_t>(item)];
      const int32_t brand = item_brand[static_cast<size_t>(item)];
      if (cat >= 0) scratch.categories.Add(cat, weight);
      if (brand >= 0) scratch.brands.Add(brand, weight);
    }
  }

  // RFM.
  std::sort(all_orders.begin(), all_orders.end());
  p.frequency = std::unique(all_orders.begin(), all_orders.end()) - all_orders.begin();
  p.monetary = p.gross_sales - p.refunds;
  if (p.frequency > 0) {
    p.recency_days = recency[cu];
    p.avg_basket = p.gross_sales / static_cast<double>(p.frequency);
    p.refund_rate = p.gross_sales > 0 ? p.refunds / p.gross_sales : 0;
    p.r_score = r[cu];
    p.f_score = f[cu];
    p.m_score = m[cu];
    p.rfm_group = RfmGroupOf(p.r_score, p.f_score, p.m_score);
  }
  std::sort(channel_orders.begin(), channel_orders.end());
  channel_orders.erase(std::unique(channel_orders.begin(), channel_orders.end()), channel_orders.end());
  for (const auto& [ch, key] : channel_orders) ++per_channel[ch].orders;

  // Channels.
  size_t listed = 0;
  for (size_t ch = 0; ch < channels.size(); ++ch) {
    const int32_t ev = channel_events[cu * channel_stride + ch];
    if (ev == 0 && per_channel[ch].orders == 0 && per_channel[ch].monetary == 0) continue;
    if (listed == p.channels.size()) p.channels.emplace_back();
    ChannelActivity& a = p.channels[listed++];
    a.channel = channels[ch];
    a.events = ev;
    a.orders = per_channel[ch].orders;
    a.monetary = per_channel[ch].monetary;
    a.last_purchase_ms = per_channel[ch].last_purchase_ms;
    a.recency_days =
        a.last_purchase_ms > 0 ? static_cast<double>(DaysBetween(a.last_purchase_ms, as_of)) : kNotAvailable;
    a.event_share = p.events > 0 ? static_cast<double>(ev) / static_cast<double>(p.events) : 0;
    a.order_share = p.frequency > 0 ? static_cast<double>(a.orders) / static_cast<double>(p.frequency) : 0;
  }
  p.channels.resize(listed);
  // Most orders, then spend, then events; the channel list order breaks ties.
  const ChannelActivity* preferred = nullptr;
  for (const ChannelActivity& a : p.channels) {
    if (!preferred || std::tie(a.orders, a.monetary, a.events) >
                          std::tie(preferred->orders, preferred->monetary, preferred->events)) {
      preferred = &a;
    }
  }
  if (preferred) p.preferred_channel = preferred->channel;
  // Most events first, ties in list order: an insertion sort (stable; a
  // customer uses a handful of channels, and std::stable_sort allocated a
  // buffer for every profile).
  for (size_t i = 1; i < p.channels.size(); ++i) {
    for (size_t j = i; j > 0 && p.channels[j].events > p.channels[j - 1].events; --j) {
      std::swap(p.channels[j], p.channels[j - 1]);
    }
  }

  std::sort(showroom_orders.begin(), showroom_orders.end());
  p.store_to_online = std::unique(showroom_orders.begin(), showroom_orders.end()) - showroom_orders.begin();

  scratch.categories.TakeTop(categories.names(), category_rank, options.top_categories, p.categories);
  scratch.brands.TakeTop(brands.names(), brand_rank, options.top_brands, p.brands);

  // Recent windows. Purchases sorted by (item, ts) for look-ups.
  std::sort(w_buys.begin(), w_buys.end());
  std::sort(w_views.begin(), w_views.end());
  for (int w = 0; w < 3; ++w) {
    const int64_t start = as_of_sec - kRecentWindowDays[w] * kDaySec;  // exclusive
    // Browse without buy: each item's first view in the window, then any
    // purchase of it at or after that view.
    for (size_t i = 0; i < w_views.size();) {
      const int32_t item = w_views[i].first;
      int64_t first_view = -1;
      size_t j = i;
      for (; j < w_views.size() && w_views[j].first == item; ++j) {
        if (first_view < 0 && static_cast<int64_t>(w_views[j].second) > start) first_view = w_views[j].second;
      }
      i = j;
      if (first_view < 0) continue;
      auto it = std::lower_bound(w_buys.begin(), w_buys.end(), std::make_pair(item, static_cast<uint32_t>(first_view)));
      if (it == w_buys.end() || it->first != item) ++p.browse_without_buy[w];
    }
    // Cart abandonment: no purchase of the item within the grace period.
    for (const auto& [item, ts] : w_carts) {
      if (static_cast<int64_t>(ts) <= start) continue;
      auto it = std::lower_bound(w_buys.begin(), w_buys.end(), std::make_pair(item, ts));
      const bool bought = it != w_buys.end() && it->first == item &&
                          (static_cast<int64_t>(it->second) - ts) * 1000 <= options.cart_grace_ms;
      if (!bought) ++p.cart_abandon[w];
    }
  }

  if (!consent[cu].empty()) {
    p.consent.assign(consent[cu].begin(), consent[cu].end());
    std::sort(p.consent.begin(), p.consent.end(),
              [](const ConsentState& a, const ConsentState& b) { return a.channel < b.channel; });
  }

  p.expected_purchases_90d = expected[cu];
  p.p_alive = alive[cu];
  p.clv_12m = clv[cu];

  if (k_recent > 0 && seq_base >= 0) {
    const int32_t count = acc[cu].events;
    const int keep = std::min(count, k_recent);
    for (int i = 0; i < keep; ++i) {
      const int32_t pos = (count - 1 - i) % k_recent;
      p.recent_event_seqs.push_back(seq_base + recent[cu * static_cast<size_t>(k_recent) + static_cast<size_t>(pos)]);
    }
  }
}

Status ProfileBuilder::Emit(const std::function<Status(const Profile&)>& emit) const {
  return Emit(0, customer_slots(), emit);
}

Status ProfileBuilder::Emit(int32_t begin, int32_t end, const std::function<Status(const Profile&)>& emit) const {
  const State& s = *s_;
  if (!s.finished) return FailedPrecondition("profile build: Emit() before Finish()");
  State::Scratch scratch;  // per call: concurrent calls share nothing they write
  scratch.categories.Reserve(s.categories.size());
  scratch.brands.Reserve(s.brands.size());
  Profile p;
  for (int32_t c = std::max(begin, 0); c < std::min(end, s.n); ++c) {
    if (s.acc[static_cast<size_t>(c)].events == 0) continue;
    s.Assemble(c, scratch, p);
    OMNI_RETURN_IF_ERROR(emit(p));
  }
  return Status::Ok();
}

int32_t ProfileBuilder::customer_slots() const { return s_->n; }

std::vector<std::string> ProfileBuilder::Names() const {
  const State& s = *s_;
  std::vector<std::string> out = s.channels.names();
  out.insert(out.end(), s.categories.names().begin(), s.categories.names().end());
  out.insert(out.end(), s.brands.names().begin(), s.brands.names().end());
  // Consent is about channels the events name, configured or not: each
  // distinct one once, in name order (a set first: sorting every customer's
  // states took a tenth of a second at 300k customers, on one core).
  absl::flat_hash_set<absl::string_view> seen;  // absl's string_view: Debian's is not std's
  std::vector<std::string> consent;
  for (const std::vector<ConsentState>& states : s.consent) {
    for (const ConsentState& st : states) {
      if (seen.insert(absl::string_view(st.channel.data(), st.channel.size())).second) consent.push_back(st.channel);
    }
  }
  std::sort(consent.begin(), consent.end());
  out.insert(out.end(), consent.begin(), consent.end());
  return out;
}

}  // namespace omni::profile
