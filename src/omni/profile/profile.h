// The customer profile (用户画像): everything later stages and people read
// about one resolved customer, as of one instant (the build's as-of).
//
// Conventions:
//  - Times are UTC epoch milliseconds; 0 means "never" (no purchase yet).
//  - "days" are whole 24-hour periods before the as-of instant:
//    floor((as_of - t) / 24h), so 0 means "within the last 24 hours".
//  - Money is quantity × unit price in the events' currency (quantity 1 when
//    absent), summed as recorded: the profile does not convert currencies.
//  - A NaN double means "not available" (no purchase, or the CLV model could
//    not be fitted); the segment language treats it as missing.
//  - An order is a purchase event's order_id (a web order, a till receipt);
//    a purchase event without one is an order by itself.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/profile/rfm.h"

namespace omni::profile {

inline constexpr double kNotAvailable = std::numeric_limits<double>::quiet_NaN();

// One channel's share of a customer's activity.
struct ChannelActivity {
  std::string channel;            // "web", "store", ...
  int64_t events = 0;             // events of every type in this channel
  int64_t orders = 0;             // distinct orders placed in this channel
  double monetary = 0;            // purchases minus refunds in this channel
  int64_t last_purchase_ms = 0;   // 0 = never bought here
  double recency_days = kNotAvailable;  // days since last_purchase_ms
  double event_share = 0;         // events / all the customer's events
  double order_share = 0;         // orders / all the customer's orders (0 when none)
};

// A category or brand and how strongly the customer leans to it.
struct Affinity {
  std::string name;    // category path ("服饰 > 女装 > 连衣裙") or brand
  double weight = 0;   // weighted events (ProfileOptions' view/cart/purchase weights)
  double share = 0;    // weight / the customer's total weight over all names
};

// The latest consent event of one channel (latest ts wins; on equal ts the
// later-stored event).
struct ConsentState {
  std::string channel;  // the channel the consent is about: "sms", "email", ...
  bool granted = false;
  int64_t ts_ms = 0;
};

// Windows of recent-behaviour counts, in days before the as-of instant.
inline constexpr int kRecentWindowDays[3] = {1, 7, 30};

struct Profile {
  std::string customer_key;  // stable key from identity resolution ("C000123")

  // Activity over all events up to the as-of instant.
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  double tenure_days = 0;        // days since first_seen_ms
  int64_t events = 0;
  // Seen with a strong identifier (member card, account, phone, e-mail,
  // WeChat id), not only cookies or devices. CLV is modelled for these only.
  bool identified = false;

  // Purchases. recency/frequency/monetary are the raw RFM values.
  int64_t first_purchase_ms = 0;
  int64_t last_purchase_ms = 0;
  double recency_days = kNotAvailable;  // days since last_purchase_ms
  int64_t frequency = 0;                // distinct orders
  double monetary = 0;                  // purchases minus refunds
  double gross_sales = 0;               // purchases only
  double refunds = 0;                   // refunded value (positive)
  double avg_basket = kNotAvailable;    // gross_sales / frequency
  double refund_rate = kNotAvailable;   // refunds / gross_sales (0 when nothing refunded)

  // RFM scores 1..5 (0 = no purchase), the cell "545" and the named group.
  int r_score = 0;
  int f_score = 0;
  int m_score = 0;
  RfmGroup rfm_group = RfmGroup::kNone;
  std::string RfmCell() const;  // "" without a purchase

  // Channels, only those with at least one event, most events first.
  std::vector<ChannelActivity> channels;
  std::string preferred_channel;  // most orders (then spend, then events); most events when no order

  // Online-to-offline behaviour.
  //  online_to_store: store purchase lines of an item the customer viewed or
  //    carted online (web, app, mini-program) in the 30 days before (ROPO:
  //    research online, purchase offline).
  //  store_to_online: online orders placed within 7 days after a store visit
  //    or an in-store / kiosk view (showrooming).
  int64_t online_to_store = 0;
  int64_t store_to_online = 0;

  // Top categories (full catalogue path) and brands, strongest first.
  std::vector<Affinity> categories;
  std::vector<Affinity> brands;

  // Recent behaviour, one count per kRecentWindowDays window:
  //  browse_without_buy: distinct items viewed in the window and not bought
  //    in the window at or after the first view;
  //  cart_abandon: add_to_cart events in the window not followed by a
  //    purchase of that item within 24 hours (or before the as-of instant,
  //    for carts younger than 24 hours).
  int64_t browse_without_buy[3] = {0, 0, 0};
  int64_t cart_abandon[3] = {0, 0, 0};

  // Consent per channel, latest event wins; channels never mentioned are absent.
  std::vector<ConsentState> consent;
  // nullptr when no consent event mentioned the channel.
  const ConsentState* ConsentFor(std::string_view channel) const;

  // Lifetime value from the BG/NBD + Gamma-Gamma models fitted on all
  // customers at the as-of instant (NaN when no purchase or no fit).
  double expected_purchases_90d = kNotAvailable;
  double p_alive = kNotAvailable;
  double clv_12m = kNotAvailable;

  // Store sequence numbers of the customer's latest events (newest first) at
  // build time, for the timeline of `omni customers show`.
  std::vector<int64_t> recent_event_seqs;
};

// The maps and lists of a profile (channels, categories, brands, windows,
// consent, recent_event_seqs) from a JSON `detail` as omni wrote it before
// version 3 (profile_detail.h). InvalidArgument for text that is not such an
// object.
Status ParseProfileDetailJson(std::string_view json, Profile& profile);

}  // namespace omni::profile
