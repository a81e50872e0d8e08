#include "omni/profile/profile.h"

#include <cmath>

#include <simdjson.h>

#include "omni/common/json_writer.h"

namespace omni::profile {

std::string Profile::RfmCell() const {
  if (r_score < 1 || f_score < 1 || m_score < 1) return "";
  return std::string{static_cast<char>('0' + r_score), static_cast<char>('0' + f_score),
                     static_cast<char>('0' + m_score)};
}

const ConsentState* Profile::ConsentFor(std::string_view channel) const {
  for (const ConsentState& c : consent) {
    if (c.channel == channel) return &c;
  }
  return nullptr;
}

namespace {

// Shares are derived values shown as percentages: four decimals are plenty,
// and they keep the stored JSON about a third smaller.
double Rounded(double share) { return std::round(share * 1e4) / 1e4; }

}  // namespace

std::string ProfileDetailJson(const Profile& p) {
  JsonWriter w;
  w.BeginObject();
  w.Key("channels").BeginArray();
  for (const ChannelActivity& c : p.channels) {
    w.BeginObject().Key("channel").String(c.channel).Key("events").Int(c.events);
    w.Key("event_share").Double(Rounded(c.event_share));
    // Purchase fields only for channels with purchases or refunds.
    if (c.orders > 0 || c.monetary != 0 || c.last_purchase_ms != 0) {
      w.Key("orders").Int(c.orders).Key("monetary").Double(c.monetary);
      w.Key("last_purchase_ms").Int(c.last_purchase_ms).Key("recency_days").Double(c.recency_days);
      w.Key("order_share").Double(Rounded(c.order_share));
    }
    w.EndObject();
  }
  w.EndArray();
  auto affinities = [&](std::string_view key, const std::vector<Affinity>& list) {
    w.Key(key).BeginArray();
    for (const Affinity& a : list) {
      w.BeginObject().Key("name").String(a.name).Key("weight").Double(a.weight);
      w.Key("share").Double(Rounded(a.share)).EndObject();
    }
    w.EndArray();
  };
  affinities("categories", p.categories);
  affinities("brands", p.brands);
  w.Key("browse_without_buy").BeginArray();
  for (int64_t n : p.browse_without_buy) w.Int(n);
  w.EndArray().Key("cart_abandon").BeginArray();
  for (int64_t n : p.cart_abandon) w.Int(n);
  w.EndArray();
  w.Key("consent").BeginArray();
  for (const ConsentState& c : p.consent) {
    w.BeginObject().Key("channel").String(c.channel).Key("granted").Bool(c.granted).Key("ts_ms").Int(c.ts_ms).EndObject();
  }
  w.EndArray();
  w.Key("recent").BeginArray();
  for (int64_t seq : p.recent_event_seqs) w.Int(seq);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

namespace {

// A number that JsonWriter wrote as null (NaN) reads back as NaN.
// (A missing key is an error result, which reads as NaN / 0 too.)
using JsonResult = simdjson::simdjson_result<simdjson::dom::element>;

double NumberOrNan(JsonResult e) {
  double d;
  if (!e.get(d)) return d;  // simdjson converts integers to double here
  return kNotAvailable;
}

double NumberOr0(JsonResult e) {
  double d;
  if (!e.get(d)) return d;
  return 0;
}

int64_t IntOr0(JsonResult e) {
  int64_t i;
  if (!e.get(i)) return i;
  double d;
  if (!e.get(d) && std::isfinite(d)) return static_cast<int64_t>(d);
  return 0;
}

int64_t IntOr0(simdjson::dom::element e) { return IntOr0(JsonResult(std::move(e))); }

}  // namespace

Status ParseProfileDetailJson(std::string_view json, Profile& p) {
  // One parser per thread: profiles are read in loops of hundreds of thousands.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) || !doc.is_object()) {
    return InvalidArgument("profile detail is not a JSON object");
  }
  p.channels.clear();
  p.categories.clear();
  p.brands.clear();
  p.consent.clear();
  p.recent_event_seqs.clear();
  simdjson::dom::array arr;
  if (!doc["channels"].get(arr)) {
    for (simdjson::dom::element e : arr) {
      ChannelActivity c;
      std::string_view name;
      if (e["channel"].get(name)) continue;
      c.channel = std::string(name);
      c.events = IntOr0(e["events"]);
      c.orders = IntOr0(e["orders"]);
      c.monetary = NumberOr0(e["monetary"]);
      c.last_purchase_ms = IntOr0(e["last_purchase_ms"]);
      c.recency_days = NumberOrNan(e["recency_days"]);
      c.event_share = NumberOr0(e["event_share"]);
      c.order_share = NumberOr0(e["order_share"]);
      p.channels.push_back(std::move(c));
    }
  }
  auto affinities = [&](const char* key, std::vector<Affinity>& out) {
    simdjson::dom::array list;
    if (doc[key].get(list)) return;
    for (simdjson::dom::element e : list) {
      std::string_view name;
      if (e["name"].get(name)) continue;
      out.push_back(Affinity{std::string(name), NumberOrNan(e["weight"]),
                             NumberOrNan(e["share"])});
    }
  };
  affinities("categories", p.categories);
  affinities("brands", p.brands);
  auto counts = [&](const char* key, int64_t* out) {
    simdjson::dom::array list;
    if (doc[key].get(list)) return;
    int i = 0;
    for (simdjson::dom::element e : list) {
      if (i < 3) out[i++] = IntOr0(e);
    }
  };
  counts("browse_without_buy", p.browse_without_buy);
  counts("cart_abandon", p.cart_abandon);
  if (!doc["consent"].get(arr)) {
    for (simdjson::dom::element e : arr) {
      std::string_view channel;
      bool granted = false;
      if (e["channel"].get(channel) || e["granted"].get(granted)) continue;
      p.consent.push_back(ConsentState{std::string(channel), granted, IntOr0(e["ts_ms"])});
    }
  }
  if (!doc["recent"].get(arr)) {
    for (simdjson::dom::element e : arr) p.recent_event_seqs.push_back(IntOr0(e));
  }
  return Status::Ok();
}

}  // namespace omni::profile
