// The retailer's customers ("persons": the ground truth that identity
// resolution tries to recover) and every identifier each one uses.
//
// A person has a channel habit (web-heavy, app-heavy, store-only,
// omnichannel, mini-program), a segment with its activity and spend, a home
// city and store, favourite categories, and identifiers drawn from the habit:
// customer_id for online accounts, member_card for store members, a mobile
// phone, an e-mail, a WeChat openid, app devices and web cookies (a new
// cookie now and then). Identifier values are derived from the seed and the
// person's index, never stored as strings, so memory stays O(customers):
// phone numbers and member cards go through a keyed permutation (unique by
// construction), cookie k of person p is a hash of (seed, p, k).
//
// Noise planted here: households of 2-4 persons sharing one tablet (device_id)
// or family PC (cookie_id), store kiosks every member taps, and a "guest"
// phone some persons give at checkout that never appears with their other
// identifiers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/demo/catalogue.h"
#include "omni/demo/random.h"

namespace omni::demo {

enum class Habit : uint8_t { kWeb, kApp, kStore, kOmni, kMini };
inline constexpr int kHabitCount = 5;
enum class Segment : uint8_t { kVip, kLoyal, kRegular, kOccasional };
inline constexpr int kSegmentCount = 4;
std::string_view HabitName(Habit h);      // "web_heavy", "app_heavy", "store_only", "omnichannel", "miniprogram"
std::string_view SegmentName(Segment s);  // "vip", "loyal", "regular", "occasional"

// Channels a person starts a session in (marketing channels answer campaigns).
enum SessionChannel : uint8_t { kSessWeb, kSessApp, kSessMini, kSessStore, kSessCall };
inline constexpr int kSessionChannelCount = 5;

// Bits naming one identifier of a person, for Person::has/linked/used.
enum IdSlot : uint16_t {
  kSlotCustomerId = 1 << 0,
  kSlotMemberCard = 1 << 1,
  kSlotPhone = 1 << 2,
  kSlotEmail = 1 << 3,
  kSlotSocial = 1 << 4,
  kSlotDevice0 = 1 << 5,  // first app device
  kSlotDevice1 = 1 << 6,  // the phone that replaces it
  kSlotCookie = 1 << 7,   // the current web cookie (cleared on churn for `linked`)
  kSlotGuestPhone = 1 << 8,
  kSlotShared = 1 << 9,   // the household's shared device or cookie
  kSlotKiosk = 1 << 10,
};

enum class SharedKind : uint8_t { kNone, kTablet, kFamilyPc };

struct Person {
  int32_t household = -1;
  int32_t last_view_item = -1;   // browsed but not bought, for returning visits
  int32_t last_view_min = 0;     // minutes since the window start
  // The last few non-repeat items bought: nobody buys the same jacket twice,
  // while coffee and diapers come back (Leaf::repeat).
  int32_t recent_buys[4] = {-1, -1, -1, -1};
  int32_t active_from_h = 0;     // hours since the window start
  int32_t active_until_h = 0;
  int32_t device_switch_h = INT32_MAX;  // from this hour device 1 replaces device 0
  uint32_t events = 0;
  uint32_t email_num = 0;
  float activity = 1.0f;
  uint16_t cookies = 0;       // cookies issued so far; the current one is cookies - 1
  uint16_t cookies_used = 0;  // cookies written in some event (0 .. cookies_used - 1)
  uint16_t has = 0;      // IdSlot bits the person owns
  uint16_t linked = 0;   // IdSlot bits already seen with the person's other ids
  uint16_t used = 0;     // IdSlot bits written in some event (truth lists these)
  int16_t home_store = -1;
  Habit habit = Habit::kWeb;
  Segment segment = Segment::kRegular;
  uint8_t city = 0;
  uint8_t fav_top[2] = {0, 0};
  uint8_t surname = 0, given = 0, email_style = 0, email_domain = 0;
  bool ios = false;
  bool new_customer = false;   // signs up inside the window
  bool started = false;        // has had a first event (signup / consent capture)
  bool sms_consent = false;
  bool email_consent = false;
  SharedKind shared = SharedKind::kNone;
  uint8_t recent_pos = 0;
  float channel_weight[kSessionChannelCount] = {};
};

inline bool RecentlyBought(const Person& p, int32_t item) {
  for (int32_t b : p.recent_buys) {
    if (b == item) return true;
  }
  return false;
}
inline void RememberPurchase(Person& p, int32_t item) {
  p.recent_buys[p.recent_pos] = item;
  p.recent_pos = static_cast<uint8_t>((p.recent_pos + 1) % 4);
}

struct PopulationOptions {
  int64_t customers = 0;
  int hours = 0;  // length of the window
  double shared_device_rate = 0;
  uint64_t seed = 0;
};

class Population {
 public:
  Population(const PopulationOptions& options, const Catalogue& catalogue, Rng& rng);

  int64_t size() const { return static_cast<int64_t>(persons_.size()); }
  Person& person(int32_t p) { return persons_[static_cast<size_t>(p)]; }
  const Person& person(int32_t p) const { return persons_[static_cast<size_t>(p)]; }
  // A person drawn in proportion to activity (heavy users exist: lognormal).
  int32_t SamplePerson(Rng& rng) const { return static_cast<int32_t>(by_activity_.Sample(rng)); }
  int64_t households() const { return households_; }
  int64_t household_members() const { return household_members_; }

  // Raw identifier values, as a source writes them. Phone and e-mail take a
  // spelling variant (see kPhoneVariants / kEmailVariants): the same number
  // is "13800138000" at the till and "+86 138 0013 8000" on the web.
  static constexpr int kPhoneVariants = 7;
  static constexpr int kEmailVariants = 5;
  void AppendPersonId(std::string& out, int32_t p) const;
  void AppendCustomerId(std::string& out, int32_t p) const;
  void AppendMemberCard(std::string& out, int32_t p) const;
  void AppendPhone(std::string& out, int32_t p, int variant) const;
  void AppendGuestPhone(std::string& out, int32_t p, int variant) const;
  void AppendEmail(std::string& out, int32_t p, int variant) const;
  void AppendSocialId(std::string& out, int32_t p) const;
  void AppendDeviceId(std::string& out, int32_t p, int device) const;
  void AppendCookieId(std::string& out, int32_t p, int cookie) const;
  void AppendSharedId(std::string& out, int32_t household) const;
  SharedKind HouseholdKind(int32_t household) const;
  // The kiosk a person uses at their home store (persons always use the same one).
  int KioskOf(int32_t p) const;
  static void AppendKioskId(std::string& out, const Store& store, int kiosk);

  // Normalised forms (truth): "+8613800138000", lower-case e-mail.
  void AppendPhoneE164(std::string& out, int32_t p) const { AppendPhone(out, p, 3); }
  void AppendEmailNormalised(std::string& out, int32_t p) const { AppendEmail(out, p, 0); }

  // Truth and person CSVs; formats in generator.h. Return rows written.
  StatusOr<int64_t> WriteTruthCsv(const std::string& path, const Catalogue& catalogue) const;
  StatusOr<int64_t> WritePersonsCsv(const std::string& path, const Catalogue& catalogue) const;

 private:
  uint64_t PhoneNumber(int32_t p) const;
  uint64_t GuestPhoneNumber(int32_t p) const;
  void AppendEmailLower(std::string& out, int32_t p) const;

  uint64_t seed_;
  int32_t hours_;
  int width_;  // digits in person ids
  std::vector<Person> persons_;
  AliasTable by_activity_;
  Permutation phone_perm_;  // guest phones are derived on demand (rare)
  std::vector<uint32_t> phone_no_, member_no_, customer_no_;
  int64_t households_ = 0;
  int64_t household_members_ = 0;
};

}  // namespace omni::demo
