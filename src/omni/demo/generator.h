// A seeded, reproducible synthetic omnichannel retailer (`omni demo
// generate`, `omni demo`): a Chinese retailer with web shop, app, WeChat
// mini-program, 40 stores with tills and kiosks, WeChat/e-mail/SMS marketing
// and a call centre, and the ground truth of who is who, so identity
// resolution (pairwise precision/recall), profiles, recommenders, propensity
// models and the allocation can be measured on it.
//
// Same options and seed -> byte-identical files (on the same build: the
// normal draws come from libstdc++'s <random>). Output streams: memory is
// O(customers + items) plus a reorder window of about an hour of events,
// whatever --events is.
//
// FILES (each written to PATH.tmp and renamed when complete)
//
// events (JSONL, canonical events, DESIGN.md "The canonical event"), roughly
// in time order: sources lag (app events queued offline arrive up to two hours
// late, some stores upload the day's receipts at 23:00), the rest is sorted.
//   {"event_id":"pos-SH-01-17","ts":"2025-03-01T10:15:02+08:00","channel":"store",
//    "type":"purchase","identities":{"member_card":"M04718352","phone":"13800138000"},
//    "item_id":"SKU-100042","quantity":2,"price":59.9,"currency":"CNY",
//    "order_id":"R-SH01-000017","store_id":"SH-01","properties":{"payment":"wechat_pay"}}
//   - event_id: "<source>-<n>", source web, app, mp (mini-program), pos-<store>,
//     kiosk-<store>, wx (WeChat), esp (e-mail), sms, cc (call centre).
//   - ts: RFC 3339 with +08:00 (web with milliseconds); mini-program and kiosk
//     events write epoch milliseconds as a JSON number, as their SDKs do.
//   - channel: web, app, miniprogram, store, social, email, sms, kiosk, callcenter.
//   - type: view, search (properties.query), add_to_cart, purchase, refund (same
//     order_id, later ts, properties.reason), click, impression, open,
//     coupon_redeem (properties.coupon), store_visit (properties.dwell_min),
//     signup (properties.method), consent (properties {"channel":"sms"|"email",
//     "granted":bool}), custom:inquiry (call centre, properties.topic).
//   - identities as each channel knows them: store = member_card and/or phone;
//     app = device_id (+ customer_id when logged in, sometimes phone); web =
//     cookie_id (+ customer_id, e-mail when logged in; phone at checkout);
//     miniprogram = social_id (+ phone once authorised, customer_id); social =
//     social_id; email = email (+ the CRM's customer_id/member_card sometimes);
//     sms = phone; kiosk = the kiosk's device_id + member_card; callcenter =
//     phone + customer_id/member_card. Phones are spelled as each source does
//     ("13800138000", "138 0013 8000", "+86-138-0013-8000", "+8613800138000",
//     "0086 138 0013 8000", ...), e-mails in mixed case ("Wei.Li@163.com").
//   - purchase: item_id, quantity, price (unit, CNY), currency, order_id
//     ("O..." online, "R-<store>-<n>" at the till), store_id in stores,
//     properties.payment (+ coupon). campaign_id ("d11-2025-email") on events
//     of a session that followed a campaign click, and on coupon redemptions.
//
// truth (CSV) person_id,identity_type,identity_value,shared — one row per
// identifier a person used in some event, value normalised as ingest will
// store it before hashing: phone E.164 ("+8613800138000"), e-mail trimmed and
// lower-case, others as written. shared:
//   ""          the person's own identifier (every such identifier of a person
//               co-occurs, through the person's events, with the others: a
//               perfect resolver merges them all);
//   "household" a tablet device_id or family-PC cookie_id used by 2-4 persons
//               of one household, each logging in with their own customer_id
//               (one row per member; resolution guards must stop it linking);
//   "kiosk"     a store kiosk's device_id, tapped by many members (one row per
//               person who used it);
//   "guest"     a phone given at a guest checkout that never appears with the
//               person's other identifiers (unresolvable by design: exclude it
//               when computing the recall a resolver can reach).
// Events whose identities are only household/kiosk identifiers do not occur:
// shared screens are always used logged in.
//
// catalogue (CSV) item_id,title,category,brand,price — category is a 3-level
// path "服饰 > 女装 > 连衣裙", price in CNY; titles mix Chinese and English
// and some contain commas and quotes (RFC 4180 quoting).
//
// availability (CSV) item_id,channel,store_id,sold,stock — empty channel =
// every channel, empty store_id = every store of the channel; the most
// specific row wins. Per item: a default row (the online warehouse: sold
// online?, stock; 0 = out of stock), a "store" row (sold in stores at all?,
// stock unknown), then per-store exceptions: not carried (sold 0) or out of
// stock (sold 1, stock 0). Fresh fruit is store-only; ~8% of items online-only.
//
// stores (CSV) store_id,name,city,flagship,kiosks — "SH-01","上海 南京西路店".
//
// persons (CSV) person_id,segment,habit,city,home_store,new_customer,churned,
// household,events — the hidden attributes behind the behaviour (segment vip /
// loyal / regular / occasional; habit web_heavy / app_heavy / store_only /
// omnichannel / miniprogram), for checking profiles and segments.
//
// NOISE (counted in DemoSummary so import counts can be checked):
//  - malformed lines, one defect each, keyed by the ingest reject reason they
//    should get (omni::ingest::RejectReasonName): invalid_json (truncated
//    line), invalid_utf8 (a GBK-encoded search query), unknown_channel
//    ("douyin"), bad_timestamp ("2025-02-30T..", "31/12/2025 10:00"),
//    missing_identities ({}), missing_field (no "type"), unknown_event_type
//    ("wishlist"), invalid_identity (an e-mail written "wei.li at 163.com" as
//    the only identity), wrong_type ("identities" a string), negative_quantity
//    and bad_number (price "abc") and negative_price on purchases. Malformed
//    lines are extra lines with their own event_id; they are not in `events`.
//  - duplicates: a valid line written again byte for byte (same event_id),
//    right after it (a retry) or up to ~200k lines later (a re-delivery).
//  - households sharing a device, store kiosks, guest checkouts, cookie churn
//    (a new cookie; the first session with it is logged in), a second phone
//    replacing a person's first app device.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "omni/common/status.h"

namespace omni::demo {

struct DemoOptions {
  int64_t customers = 20000;  // persons (1 .. 50,000,000)
  int64_t items = 2000;       // 1 .. 10,000,000
  int64_t events = 500000;    // valid events written, exactly (duplicates and malformed lines come on top)
  uint64_t seed = 42;
  int stores = 40;            // 1 .. 999
  double malformed_rate = 0.002;      // malformed lines per event
  double duplicate_rate = 0.005;      // duplicate deliveries per event
  double shared_device_rate = 0.01;   // share of persons in a household sharing a device
  double guest_rate = 0.03;           // share of web checkouts made as a guest
  int64_t start_ms = 1735660800000;   // 2025-01-01T00:00:00+08:00
  int days = 365;                     // 1 .. 3660

  // InvalidArgument naming the first option out of range.
  Status Validate() const;
};

// Where to write. `events` is required; an empty path skips that file.
struct DemoPaths {
  std::string events;
  std::string truth;
  std::string catalogue;
  std::string availability;
  std::string stores;
  std::string persons;

  // "out/demo.jsonl" -> events there, and out/demo.truth.csv,
  // demo.catalogue.csv, demo.availability.csv, demo.stores.csv,
  // demo.persons.csv beside it (a missing ".jsonl" is not required).
  static DemoPaths Beside(const std::string& events_path);
};

struct DemoSummary {
  int64_t lines = 0;       // lines in the events file = events + malformed + duplicates
  int64_t events = 0;      // distinct valid events
  int64_t malformed = 0;
  int64_t duplicates = 0;
  int64_t customers = 0;   // persons generated
  int64_t active_customers = 0;  // persons with at least one event
  int64_t items = 0;
  int64_t stores = 0;
  int64_t bytes = 0;       // size of the events file
  int64_t truth_rows = 0;
  int64_t availability_rows = 0;
  int64_t orders = 0;      // distinct order_ids with a purchase
  int64_t households = 0;          // households sharing a device
  int64_t household_members = 0;
  int64_t kiosk_users = 0;         // persons who used a store kiosk
  int64_t guest_checkouts = 0;     // purchases carrying only a cookie or a guest phone
  int64_t cookie_churns = 0;       // new cookies issued after a person's first
  int64_t device_switches = 0;     // persons whose second app device appears
  int64_t o2o_purchases = 0;       // store purchases of an item browsed online before
  std::map<std::string, int64_t> malformed_by_reason;  // ingest reject reason -> lines
  std::map<std::string, int64_t> events_by_type;
  std::map<std::string, int64_t> events_by_channel;
};

// One JSON object (for `omni demo generate --format json`).
std::string DemoSummaryJson(const DemoSummary& summary);

// Generates the demo data set. `progress(done, total)` is called now and then
// with events generated so far (and once at the end). Errors: InvalidArgument
// for bad options or an empty events path; Internal for I/O failures.
StatusOr<DemoSummary> GenerateDemo(const DemoOptions& options, const DemoPaths& paths,
                                   std::function<void(int64_t done, int64_t total)> progress = {});

}  // namespace omni::demo
