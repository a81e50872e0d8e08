#include "omni/serve/overview_counts.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "omni/ingest/event.h"
#include "omni/ingest/timestamp.h"
#include "omni/profile/k_anonymity.h"

namespace omni::serve {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr std::array<const char*, 3> kStages = {"view", "add_to_cart", "purchase"};
// Channels beyond this many are counted in events but not in people (the
// keys below hold a channel in 8 bits); a configuration never has so many.
constexpr size_t kMaxChannels = 255;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string DateOfDay(int64_t day) { return ingest::FormatTimestamp(day * kDayMs, 0).substr(0, 10); }

// Heterogeneous look-up: a row's text is found without copying it.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TextMap = std::unordered_map<std::string, int64_t, TextHash, std::equal_to<>>;

struct ChannelDay {
  int64_t events = 0;
  std::array<int64_t, 3> stage_events{};  // view, add_to_cart, purchase
  double sales = 0;                       // purchase lines: quantity (default 1) × price
};

}  // namespace

// Who an event is: its resolved customer, else its strongest identifier.
// Ids: customers are 0..customer_count-1 (the directory's dense ids),
// identifiers follow in order of first sight. Most events of a customer
// carry the very same identities text, so the answer is kept per distinct
// text: the JSON is parsed and looked up once per text, not once per event.
class OverviewCounts::People {
 public:
  People(std::shared_ptr<const identity::CustomerDirectory> directory, identity::IdentityConfig config)
      : directory_(directory && directory->customer_count() > 0 ? std::move(directory) : nullptr),
        config_(std::move(config)),
        customers_(directory_ ? directory_->customer_count() : 0) {}

  bool resolved() const { return directory_ != nullptr; }
  int64_t size() const { return customers_ + static_cast<int64_t>(by_identifier_.size()); }
  // Ids from here on are identifiers, not resolved customers.
  int64_t customers() const { return customers_; }
  const Status& status() const { return status_; }

  // Person id, or -1 for an event without identities.
  int64_t Of(std::string_view identities_json) {
    // A visit's events follow each other: most look-ups repeat the last one.
    if (last_ && last_->first == identities_json) return last_->second;
    auto it = by_text_.find(identities_json);
    if (it == by_text_.end()) it = by_text_.emplace(std::string(identities_json), Lookup(identities_json)).first;
    last_ = &*it;
    return it->second;
  }

 private:
  int64_t Lookup(std::string_view json) {
    event_.identities.clear();
    if (!json.empty()) {
      simdjson::dom::element doc;
      simdjson::dom::object object;
      if (parser_.parse(json.data(), json.size()).get(doc) || doc.get(object)) {
        if (status_.ok()) status_ = Internal("events: an identities column is not a JSON object");
        return -1;
      }
      for (auto [key, value] : object) {
        std::string_view v;
        std::optional<ingest::IdentityType> type = ingest::ParseIdentityType(key);
        if (type && !value.get(v)) event_.identities.push_back({*type, std::string(v)});
      }
    }
    if (event_.identities.empty()) return -1;
    if (directory_) {
      if (std::optional<int32_t> c = directory_->CustomerOfEvent(event_)) return *c;
    }
    const ingest::Identity* strongest = &event_.identities.front();
    for (const ingest::Identity& id : event_.identities) {
      if (config_.Rank(id.type) < config_.Rank(strongest->type)) strongest = &id;
    }
    std::string key(ingest::IdentityTypeName(strongest->type));
    key += ':';
    key += strongest->value;
    const int64_t next = size();
    return by_identifier_.emplace(std::move(key), next).first->second;
  }

  std::shared_ptr<const identity::CustomerDirectory> directory_;
  identity::IdentityConfig config_;
  const int64_t customers_;
  TextMap by_text_;
  const TextMap::value_type* last_ = nullptr;  // element pointers survive rehashing
  TextMap by_identifier_;
  simdjson::dom::parser parser_;
  ingest::Event event_;
  Status status_;
};

struct OverviewCounts::Day {
  std::vector<ChannelDay> channels;  // by channel index
  // person << 12 | channel << 4 | stage (0 other, 1 view, 2 add_to_cart,
  // 3 purchase); sorted and unique after Seal, so one person's keys are
  // consecutive, and within them one channel's.
  std::vector<uint64_t> touches;
  // channel << 56 | 56 bits of the order id's hash, per purchase line with
  // an order id; unique after Seal: distinct orders per channel.
  std::vector<uint64_t> orders;
  std::map<std::string, int64_t, std::less<>> currencies;  // purchase lines per currency
  int64_t unresolved = 0;  // events counted by an identifier although customers are resolved
  bool dirty = false;
};

OverviewCounts::OverviewCounts(std::shared_ptr<const identity::CustomerDirectory> directory,
                               identity::IdentityConfig config, int cover_days)
    : people_(std::make_unique<People>(std::move(directory), std::move(config))), cover_days_(cover_days) {}

OverviewCounts::~OverviewCounts() = default;

const Status& OverviewCounts::status() const { return people_->status(); }

size_t OverviewCounts::Channel(std::string_view name) {
  if (last_channel_ < channel_names_.size() && channel_names_[last_channel_] == name) return last_channel_;
  for (size_t i = 0; i < channel_names_.size(); ++i) {
    if (channel_names_[i] == name) return last_channel_ = i;
  }
  channel_names_.emplace_back(name);
  return last_channel_ = channel_names_.size() - 1;
}

void OverviewCounts::Add(const OverviewEvent& e) {
  last_seq_ = std::max(last_seq_, e.seq);
  const int64_t d = FloorDiv(e.ts_ms + static_cast<int64_t>(e.tz_offset_min) * 60000, kDayMs);
  // Events arrive roughly in time order: most fall on the last one's day.
  if (!last_day_ || last_day_->first != d) last_day_ = &*days_.try_emplace(d).first;
  Day& day = last_day_->second;
  day.dirty = true;
  const size_t ch = Channel(e.channel);
  if (day.channels.size() <= ch) day.channels.resize(ch + 1);
  ChannelDay& c = day.channels[ch];
  ++c.events;
  const uint64_t stage = e.type == "view" ? 1 : e.type == "add_to_cart" ? 2 : e.type == "purchase" ? 3 : 0;
  if (stage > 0) ++c.stage_events[stage - 1];
  if (stage == 3) {
    if (e.price) c.sales += e.quantity.value_or(1.0) * *e.price;
    if (!e.order_id.empty() && ch < kMaxChannels) {
      day.orders.push_back(static_cast<uint64_t>(ch) << 56 | std::hash<std::string_view>{}(e.order_id) >> 8);
    }
    if (!e.currency.empty()) {
      auto it = day.currencies.find(e.currency);
      if (it == day.currencies.end()) it = day.currencies.emplace(std::string(e.currency), 0).first;
      ++it->second;
    }
  }
  const int64_t person = people_->Of(e.identities);
  if (people_->resolved() && person >= people_->customers()) ++day.unresolved;
  if (person >= 0 && ch < kMaxChannels) {
    const uint64_t key = static_cast<uint64_t>(person) << 12 | static_cast<uint64_t>(ch) << 4 | stage;
    // Consecutive events of one visit repeat the key: skip them here
    // rather than sort them later.
    if (day.touches.empty() || day.touches.back() != key) day.touches.push_back(key);
  }
}

void OverviewCounts::Seal(int keep_days) {
  for (auto& [d, day] : days_) {
    if (!day.dirty) continue;
    std::sort(day.touches.begin(), day.touches.end());
    day.touches.erase(std::unique(day.touches.begin(), day.touches.end()), day.touches.end());
    std::sort(day.orders.begin(), day.orders.end());
    day.orders.erase(std::unique(day.orders.begin(), day.orders.end()), day.orders.end());
    day.dirty = false;
  }
  if (!days_.empty()) {
    const int64_t oldest = days_.rbegin()->first - keep_days;
    if (last_day_ && last_day_->first < oldest) last_day_ = nullptr;
    days_.erase(days_.begin(), days_.lower_bound(oldest));
  }
}

void OverviewCounts::Write(JsonWriter& w, int days, int64_t k) const {
  const bool any = !days_.empty();
  const int64_t last_day = any ? days_.rbegin()->first : 0;
  const int64_t first_day = last_day - days + 1;
  const size_t n = static_cast<size_t>(days), channels_n = channel_names_.size();
  auto count = [&](int64_t v) {
    if (profile::Suppressed(v, k)) {
      w.Null();
    } else {
      w.Int(v);
    }
  };

  struct Funnel {
    std::array<int64_t, 3> events{};
    std::array<int64_t, 3> people{};
    int64_t orders = 0;
    double sales = 0;
  };
  std::vector<std::vector<int64_t>> events(channels_n, std::vector<int64_t>(n, 0));
  std::vector<std::vector<int64_t>> active(channels_n, std::vector<int64_t>(n, 0));
  std::vector<int64_t> channel_total(channels_n, 0), orders(n, 0), active_total(n, 0);
  std::vector<double> sales(n, 0);
  std::vector<Funnel> funnel(channels_n);
  Funnel all;
  std::map<std::string, int64_t> currencies;
  // Per person, one bit per (channel, stage), one per stage across channels
  // and one for "active in the window", set the first time the window shows
  // it, so each person counts once per funnel cell without sorting (one
  // 64-bit word per person for up to 20 channels).
  const size_t seen_bit = 3 * (channels_n + 1), words = (seen_bit + 1 + 63) / 64;
  std::vector<uint64_t> marks(static_cast<size_t>(people_->size()) * words, 0);
  auto mark = [&](uint64_t person, size_t bit) {
    uint64_t& word = marks[person * words + bit / 64];
    const uint64_t m = uint64_t{1} << (bit % 64);
    const bool first = (word & m) == 0;
    word |= m;
    return first;
  };
  int64_t window_people = 0, unresolved = 0;
  for (auto it = days_.lower_bound(first_day); any && it != days_.end(); ++it) {
    const Day& day = it->second;
    const auto slot = static_cast<size_t>(it->first - first_day);
    for (size_t ch = 0; ch < day.channels.size(); ++ch) {
      const ChannelDay& c = day.channels[ch];
      events[ch][slot] += c.events;
      channel_total[ch] += c.events;
      for (size_t s = 0; s < 3; ++s) funnel[ch].events[s] += c.stage_events[s], all.events[s] += c.stage_events[s];
      funnel[ch].sales += c.sales;
      all.sales += c.sales;
      sales[slot] += c.sales;
    }
    for (uint64_t o : day.orders) {
      ++orders[slot];
      ++funnel[o >> 56].orders;
      ++all.orders;
    }
    for (const auto& [currency, lines] : day.currencies) currencies[currency] += lines;
    unresolved += day.unresolved;
    for (size_t i = 0; i < day.touches.size(); ++i) {
      const uint64_t key = day.touches[i];
      const uint64_t person = key >> 12, ch = (key >> 4) & 0xFF, stage = key & 0xF;
      const bool new_person = i == 0 || (day.touches[i - 1] >> 12) != person;
      if (new_person) ++active_total[slot];
      if (new_person || ((day.touches[i - 1] >> 4) & 0xFF) != ch) ++active[ch][slot];
      if (mark(person, seen_bit)) ++window_people;
      if (stage > 0) {
        if (mark(person, 3 * ch + stage - 1)) ++funnel[ch].people[stage - 1];
        if (mark(person, 3 * channels_n + stage - 1)) ++all.people[stage - 1];
      }
    }
  }

  std::vector<size_t> channels;  // those with events in the window, most first, then by name
  for (size_t ch = 0; ch < channels_n; ++ch) {
    if (channel_total[ch] > 0) channels.push_back(ch);
  }
  std::sort(channels.begin(), channels.end(), [&](size_t a, size_t b) {
    return channel_total[a] != channel_total[b] ? channel_total[a] > channel_total[b]
                                                : channel_names_[a] < channel_names_[b];
  });
  std::string currency;
  int64_t best = 0;
  for (const auto& [c, lines] : currencies) {
    if (lines > best) currency = c, best = lines;
  }

  w.Key("window").BeginObject().Key("days").Int(days);
  w.Key("from").String(any ? DateOfDay(first_day) : "");
  w.Key("to").String(any ? DateOfDay(last_day) : "").EndObject();
  w.Key("dates").BeginArray();
  for (int64_t d = first_day; any && d <= last_day; ++d) w.String(DateOfDay(d));
  w.EndArray();
  w.Key("channels").BeginArray();
  for (size_t ch : channels) w.String(channel_names_[ch]);
  w.EndArray();
  w.Key("events_per_day").BeginObject();
  for (size_t ch : channels) {
    w.Key(channel_names_[ch]).BeginArray();
    for (int64_t v : events[ch]) w.Int(v);
    w.EndArray();
  }
  w.EndObject();
  w.Key("orders_per_day").BeginArray();
  for (size_t i = 0; any && i < n; ++i) w.Int(orders[i]);
  w.EndArray();
  w.Key("sales_per_day").BeginArray();
  for (size_t i = 0; any && i < n; ++i) w.Double(std::round(sales[i] * 100) / 100);
  w.EndArray();

  // Who "people" are in the counts below.
  w.Key("people").BeginObject();
  w.Key("basis").String(people_->resolved() ? "customers" : "identifiers");
  w.Key("unresolved_events").Int(unresolved);
  w.Key("note").String(
      !people_->resolved()
          ? std::string("distinct identifiers (the strongest of each event): customers are not resolved yet, so one "
                        "person seen with a member card and a phone may count twice; run omni customers resolve")
      : unresolved == 0
          ? std::string("distinct customers (One-ID): one person shopping in three channels counts once")
          : "distinct customers (One-ID); " + std::to_string(unresolved) +
                " events without a resolved customer (newer than the last omni customers resolve, or only shared "
                "identifiers) count by their strongest identifier");
  w.EndObject();

  int64_t total_events = 0, total_orders = 0;
  double total_sales = 0;
  for (int64_t v : channel_total) total_events += v;
  for (size_t i = 0; i < n; ++i) total_orders += orders[i], total_sales += sales[i];
  w.Key("totals").BeginObject().Key("events").Int(total_events).Key("orders").Int(total_orders);
  w.Key("sales").Double(std::round(total_sales * 100) / 100).Key("currency").String(currency);
  w.Key("customers");
  count(window_people);
  w.Key("customers_shown").String(profile::ShownCount(window_people, k)).EndObject();

  // Daily active customers: distinct people with any event that local day,
  // in any channel (total) and per channel.
  w.Key("active_per_day").BeginObject().Key("total").BeginArray();
  for (size_t i = 0; any && i < n; ++i) count(active_total[i]);
  w.EndArray().Key("by_channel").BeginObject();
  for (size_t ch : channels) {
    w.Key(channel_names_[ch]).BeginArray();
    for (int64_t v : active[ch]) count(v);
    w.EndArray();
  }
  w.EndObject().EndObject();

  // The funnel in distinct people who viewed, added to cart and bought in
  // the window (per stage, not necessarily in that order), per channel and
  // across channels: a person who viewed on the web and bought in a store is
  // in every stage of the all-channel row. The events behind each stage too.
  auto write_funnel = [&](const Funnel& f) {
    w.Key("customers").BeginObject();
    for (size_t s = 0; s < 3; ++s) {
      w.Key(kStages[s]);
      count(f.people[s]);
    }
    w.EndObject().Key("shown").BeginObject();
    for (size_t s = 0; s < 3; ++s) w.Key(kStages[s]).String(profile::ShownCount(f.people[s], k));
    w.EndObject().Key("events").BeginObject();
    for (size_t s = 0; s < 3; ++s) w.Key(kStages[s]).Int(f.events[s]);
    w.EndObject();
    w.Key("orders").Int(f.orders).Key("sales").Double(std::round(f.sales * 100) / 100);
  };
  w.Key("funnel").BeginArray();
  for (size_t ch : channels) {
    const Funnel& f = funnel[ch];
    if (f.events[0] == 0 && f.events[1] == 0 && f.events[2] == 0) continue;
    w.BeginObject().Key("channel").String(channel_names_[ch]);
    write_funnel(f);
    w.EndObject();
  }
  w.EndArray();
  w.Key("funnel_all_channels").BeginObject();
  write_funnel(all);
  w.EndObject();
}

}  // namespace omni::serve
