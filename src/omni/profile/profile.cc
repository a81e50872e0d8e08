#include "omni/profile/profile.h"

#include <algorithm>
#include <cmath>

#include <simdjson.h>


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

// Versions 1 and 2 of the detail were JSON; version 3 is binary
// (profile_detail.h). The JSON ones are still read: stores built by an older
// omni keep working until their next build.
//   version 2, positional:
//   {"v":2,
//    "ch":[[channel, events, event_share_bp] or
//          [channel, events, event_share_bp, orders, monetary, last_purchase_ms, recency_days, order_share_bp]],
//    "cat":[[name, weight, share_bp]], "br":[[name, weight, share_bp]],
//    "w":[browse_without_buy × 3, cart_abandon × 3],
//    "co":[[channel, granted 0/1, ts_ms]],
//    "rs":[newest seq, then each older seq as its distance to the one before]}
//   version 1: named keys, shares as decimals.

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

double Share(JsonResult basis_points) { return static_cast<double>(IntOr0(basis_points)) / 1e4; }

// Version 2 (see ProfileDetailJson). Entries that are not arrays of the
// expected shape are skipped, as version 1 skips entries without a name.
void ParseDetailV2(simdjson::dom::element doc, Profile& p) {
  simdjson::dom::array arr;
  if (!doc["ch"].get(arr)) {
    for (simdjson::dom::element e : arr) {
      simdjson::dom::array f;
      std::string_view name;
      if (e.get(f) || f.size() < 3 || f.at(0).get(name)) continue;
      ChannelActivity c;
      c.channel = std::string(name);
      c.events = IntOr0(f.at(1));
      c.event_share = Share(f.at(2));
      if (f.size() >= 8) {
        c.orders = IntOr0(f.at(3));
        c.monetary = NumberOr0(f.at(4));
        c.last_purchase_ms = IntOr0(f.at(5));
        c.recency_days = NumberOrNan(f.at(6));
        c.order_share = Share(f.at(7));
      }
      p.channels.push_back(std::move(c));
    }
  }
  auto affinities = [&](const char* key, std::vector<Affinity>& out) {
    simdjson::dom::array list;
    if (doc[key].get(list)) return;
    for (simdjson::dom::element e : list) {
      simdjson::dom::array f;
      std::string_view name;
      if (e.get(f) || f.size() < 3 || f.at(0).get(name)) continue;
      out.push_back(Affinity{std::string(name), NumberOrNan(f.at(1)), Share(f.at(2))});
    }
  };
  affinities("cat", p.categories);
  affinities("br", p.brands);
  if (!doc["w"].get(arr)) {
    int i = 0;
    for (simdjson::dom::element e : arr) {
      if (i < 3) p.browse_without_buy[i] = IntOr0(e);
      else if (i < 6) p.cart_abandon[i - 3] = IntOr0(e);
      ++i;
    }
  }
  if (!doc["co"].get(arr)) {
    for (simdjson::dom::element e : arr) {
      simdjson::dom::array f;
      std::string_view channel;
      if (e.get(f) || f.size() < 3 || f.at(0).get(channel)) continue;
      p.consent.push_back(ConsentState{std::string(channel), IntOr0(f.at(1)) != 0, IntOr0(f.at(2))});
    }
  }
  if (!doc["rs"].get(arr)) {
    for (simdjson::dom::element e : arr) {
      const int64_t v = IntOr0(e);
      p.recent_event_seqs.push_back(p.recent_event_seqs.empty() ? v : p.recent_event_seqs.back() - v);
    }
  }
}

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
  for (int64_t* counts : {p.browse_without_buy, p.cart_abandon}) std::fill(counts, counts + 3, 0);
  int64_t version = 1;
  if (!doc["v"].get(version) && version == 2) {
    ParseDetailV2(doc, p);
    return Status::Ok();
  }
  // Version 1: named keys.
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
