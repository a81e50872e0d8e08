// One generated event before it becomes a JSON line. Compact on purpose (no
// strings): identifiers are references into the population ("person p's
// phone, spelled the app's way"), rendered only when the line is written, so
// the reorder window holds thousands of events in a few hundred KB.
#pragma once

#include <cstdint>
#include <string_view>

namespace omni::demo {

enum class Channel : uint8_t { kWeb, kApp, kMiniprogram, kStore, kSocial, kEmail, kSms, kKiosk, kCallcenter };
inline constexpr int kChannelCount = 9;
inline std::string_view ChannelName(Channel c) {
  static constexpr std::string_view kNames[] = {"web",    "app", "miniprogram", "store",     "social",
                                                "email",  "sms", "kiosk",       "callcenter"};
  return kNames[static_cast<int>(c)];
}

enum class EventType : uint8_t {
  kView, kSearch, kAddToCart, kPurchase, kRefund, kClick, kImpression, kOpen,
  kCouponRedeem, kStoreVisit, kSignup, kConsent, kInquiry,
};
inline constexpr int kEventTypeCount = 13;
inline std::string_view EventTypeName(EventType t) {
  static constexpr std::string_view kNames[] = {
      "view", "search", "add_to_cart", "purchase", "refund", "click", "impression", "open",
      "coupon_redeem", "store_visit", "signup", "consent",
      "custom:inquiry"};  // a retailer-defined type, as DESIGN.md allows
  return kNames[static_cast<int>(t)];
}

// Which identifier of the event's person (or their household / the store's
// kiosk) an identity refers to.
enum class IdKind : uint8_t {
  kCustomerId, kMemberCard, kPhone, kGuestPhone, kEmail, kSocialId,
  kDevice,   // sub = device index 0/1
  kCookie,   // sub = cookie index
  kShared,   // the household's tablet (device_id) or family PC (cookie_id)
  kKiosk,    // sub = kiosk index in the event's store
};

struct IdRef {
  IdKind kind;
  uint8_t variant = 0;  // phone / e-mail spelling
  uint16_t sub = 0;
};

// What goes into "properties".
enum class Props : uint8_t {
  kNone,
  kSearch,     // a = leaf, b = query index
  kConsent,    // a = 0 sms / 1 email, b = granted
  kPayment,    // a = payment method; b = 1 when a coupon was used (adds "coupon")
  kStoreVisit, // a = dwell minutes
  kRefund,     // a = reason
  kSignup,     // a = method
  kInquiry,    // a = topic
  kCoupon,     // the campaign's coupon code
};

// Marketing route a campaign reached the customer by; suffix of campaign_id.
enum class Via : uint8_t { kEmail, kSms, kWechat, kPush, kInstore };

struct DemoEvent {
  int64_t ts_ms = 0;
  int64_t key_ms = 0;      // when the event reaches the file (sources lag, stores batch)
  uint64_t seq = 0;        // generation order, breaks ties deterministically
  int64_t order_no = -1;   // online order number or the store's receipt number
  int32_t person = 0;
  int32_t item = -1;
  int32_t price_cents = 0;
  int16_t store = -1;
  int16_t campaign = -1;
  int16_t quantity = 0;
  Channel channel = Channel::kWeb;
  EventType type = EventType::kView;
  Props props = Props::kNone;
  Via via = Via::kPush;
  uint8_t prop_a = 0;
  uint8_t prop_b = 0;
  uint8_t n_ids = 0;
  bool epoch_ts = false;   // ts written as epoch milliseconds (a number)
  bool with_ms = false;    // RFC 3339 with milliseconds
  IdRef ids[6];

  bool HasKind(IdKind k) const {
    for (int i = 0; i < n_ids; ++i) {
      if (ids[i].kind == k) return true;
    }
    return false;
  }
};

}  // namespace omni::demo
