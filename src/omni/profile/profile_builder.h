// Builds every customer's Profile (profile.h) from one pass over the events.
//
//   ProfileBuilder builder(directory, options);          // options.as_of_ms set
//   store.ScanItems([&](const Item& i) { builder.AddItem(i); return true; });
//   builder.AddEvents(*columns);        // EventColumns::Open(data_dir, store); or AddEvent per event
//   OMNI_RETURN_IF_ERROR(builder.Finish());              // scores, CLV fit
//   OMNI_RETURN_IF_ERROR(builder.Emit([&](const Profile& p) { return Save(p); }));
//
// WHAT IT DOES WITH EACH EVENT. Events after the as-of instant are ignored
// (so a build "as of" a past date sees only what was known then); each other
// event goes to its customer (CustomerDirectory::CustomerOfEvent; events with
// only shared identifiers are counted and skipped). Per event it updates a few
// per-customer counters and, for item events (view, add_to_cart, purchase,
// refund) and store visits, appends one 16-byte activity record; purchases and
// refunds also one 24-byte line record (order, amount, item). Consent events
// update the customer's consent list. Nothing else is kept: memory is about
// 16 bytes per item event plus ~150 bytes per customer.
//
// FINISH sorts the activity records by customer (in place, counting sort) and
// time, computes recency / frequency / monetary, the quintile scores and
// groups (rfm.h) over all buyers, and fits BG/NBD + Gamma-Gamma on the
// identified buyers (see strong_types; calibration =
// everything up to the as-of instant, unit day, days counted at the data's
// dominant UTC offset) for expected purchases in 90 days, P(alive) and 12-month
// CLV at 1% a month (lifetimes' customer_lifetime_value conventions, clv.h).
// EMIT then assembles one Profile at a time (channels, affinities, windows,
// O2O flags), so the full profiles never sit in memory together.
//
// Not thread-safe; AddItem calls must come before the first AddEvent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/identity.h"
#include "omni/ingest/event.h"
#include "omni/profile/clv.h"
#include "omni/profile/profile.h"
#include "omni/store/event_columns.h"

namespace omni::profile {

struct ProfileOptions {
  // Required (> 0): the instant the profiles describe. Windows end here;
  // recency and tenure are measured to it; later events are ignored.
  int64_t as_of_ms = 0;
  // Channels in the order to index them (the ingest config's list); a
  // channel not listed is added when first seen.
  std::vector<std::string> channels;
  // Where browsing counts as online, and where it counts as in the store.
  std::vector<std::string> online_channels = {"web", "app", "miniprogram"};
  std::vector<std::string> in_store_channels = {"store", "kiosk"};
  // Category / brand affinity: weight of each event type.
  double view_weight = 1;
  double cart_weight = 3;
  double purchase_weight = 5;
  int top_categories = 5;
  int top_brands = 3;
  // O2O: an online browse counts for a store purchase within this long after
  // it; a store visit counts for an online order within this long after it.
  int64_t online_to_store_window_ms = 30LL * 86'400'000;
  int64_t store_to_online_window_ms = 7LL * 86'400'000;
  // A cart is abandoned when the item is not bought within this long.
  int64_t cart_grace_ms = 86'400'000;
  // Latest events kept per customer for the timeline of `customers show`
  // (at most 65,535).
  int recent_events = 20;
  // Identifier types that make a customer "identified" (a person the
  // retailer can name: member, account, phone, e-mail, WeChat) rather than an
  // anonymous cookie or device. Only identified buyers enter the CLV fit: a
  // guest checkout's one-off cookie is not a customer whose lifetime can be
  // modelled, and thousands of them would drag the model towards "everyone
  // buys once".
  std::vector<ingest::IdentityType> strong_types = {
      ingest::IdentityType::kCustomerId, ingest::IdentityType::kMemberCard, ingest::IdentityType::kPhone,
      ingest::IdentityType::kEmail, ingest::IdentityType::kSocialId};
  // CLV: fit on all identified buyers and predict (skipped when false, or when the data
  // cannot identify the models: then CLV fields are NaN and the stats say why).
  bool fit_clv = true;
  ClvOptions clv;                      // 12 months, 1% a month, 30 days a month
  double expected_purchases_days = 90;
  FitOptions fit;
  // AddEvents reads the snapshot on two threads (each taking alternate runs
  // of customers) from this many events up; fewer are read on one.
  int64_t two_thread_scan_min_events = 200'000;
  // Finish time-sorts each customer's records and renumbers the purchase
  // lines on two threads from this many activity records up.
  int64_t two_thread_sort_min_records = 200'000;
  // Capacity hint (e.g. the store's event count) so the activity buffer is
  // reserved once instead of grown by copying; 0 = grow as needed.
  int64_t expected_events = 0;
};

struct ProfileBuildStats {
  int64_t events_read = 0;
  int64_t events_used = 0;
  int64_t events_after_as_of = 0;   // ignored: newer than the as-of instant
  int64_t events_unattributed = 0;  // only shared identifiers: no customer
  int64_t consent_events_invalid = 0;  // consent without channel/granted properties
  int64_t customers = 0;            // with at least one event (= profiles emitted)
  int64_t buyers = 0;               // with at least one order
  int64_t identified = 0;           // with a strong identifier (ProfileOptions::strong_types)
  int64_t orders = 0;
  int64_t items = 0;                // catalogue items known
  int64_t activity_records = 0;
  int scan_threads = 1;             // threads AddEvents read the snapshot on
  // CLV.
  bool clv_fitted = false;          // BG/NBD fitted (expected purchases, P(alive))
  bool spend_fitted = false;        // Gamma-Gamma fitted too (CLV)
  std::string clv_note;             // why not, when not
  BgNbdFit bgnbd;
  GammaGammaFit gamma_gamma;
  int32_t clv_utc_offset_min = 0;   // day boundaries used for the CLV summary
  double finish_seconds = 0;
  double sort_seconds = 0;  // of which: activity records into customer-major time order
  double rfm_seconds = 0;   //   orders, recency, monetary, quintile scores
  double clv_seconds = 0;   //   RFM summary, BG/NBD and Gamma-Gamma fits, predictions
};

class ProfileBuilder {
 public:
  // `directory` must outlive the builder.
  ProfileBuilder(const identity::CustomerDirectory& directory, ProfileOptions options);
  ~ProfileBuilder();
  ProfileBuilder(const ProfileBuilder&) = delete;
  ProfileBuilder& operator=(const ProfileBuilder&) = delete;

  // Catalogue rows: category_path and brand feed the affinities.
  void AddItem(const ingest::Item& item);
  // One stored event; `seq` is its store sequence number (for the timeline).
  void AddEvent(int64_t seq, const ingest::Event& event);
  // Every event of the columnar snapshot, in seq order: the same build as
  // AddEvent over ScanEvents, without decoding SQLite rows (customers are
  // looked up once per distinct identifier, column_attribution.h).
  // `first_seqs`: IdentityFirstSeqs(columns) when the caller computed it
  // already (event_source.h), e.g. while the directory loaded.
  void AddEvents(const store::EventColumns& columns, const std::vector<int64_t>* first_seqs = nullptr);
  // InvalidArgument when as_of_ms is not set. Call once, after the last event.
  Status Finish();
  // Calls `emit` once per customer with events, in dense-id order; stops at
  // and returns the first non-OK status. Requires Finish().
  Status Emit(const std::function<Status(const Profile&)>& emit) const;
  // The same for the customers with dense ids in [begin, end) only. Safe to
  // call from several threads at once (after Finish(), nothing is written).
  Status Emit(int32_t begin, int32_t end, const std::function<Status(const Profile&)>& emit) const;
  // Dense ids run from 0 to customer_slots() - 1 (customers without events
  // are not emitted).
  int32_t customer_slots() const;
  // Every channel, category and brand name a profile of this build can
  // name, in a fixed order (so a store numbers them the same way on every
  // run: ProfileBuildInfo::names).
  std::vector<std::string> Names() const;

  const ProfileBuildStats& stats() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace omni::profile
