#include "omni/demo/population.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <unordered_set>

#include "omni/demo/json_out.h"
#include "omni/demo/output_file.h"

namespace omni::demo {
namespace {

constexpr std::string_view kSurnames[] = {
    "wang", "li",  "zhang", "liu",  "chen",  "yang", "huang", "zhao", "wu",   "zhou",
    "xu",   "sun", "ma",    "zhu",  "hu",    "guo",  "he",    "lin",  "gao",  "luo",
    "zheng", "liang", "xie", "song", "tang", "han",  "feng",  "deng", "cao",  "peng"};
constexpr std::string_view kGiven[] = {
    "wei",  "fang", "na",    "min",    "jing",   "lei",    "yang",  "jie",   "tao",    "ming",
    "chao", "hui",  "qiang", "lin",    "yan",    "xin",    "hao",   "yu",    "ting",   "jun",
    "ping", "gang", "juan",  "yong",   "yi",     "xue",    "bo",    "chen",  "zihan",  "yuxuan",
    "haoran", "zixuan", "yutong", "xinyi", "xiuying", "jiahui"};
// qq.com is only used with numeric (QQ number) local parts, as in real life.
constexpr std::string_view kDomains[] = {"qq.com",   "163.com",   "126.com",     "gmail.com",
                                         "outlook.com", "sina.com", "foxmail.com", "hotmail.com",
                                         "icloud.com", "yeah.net"};
constexpr uint16_t kMobilePrefixes[] = {130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152,
                                        153, 155, 156, 157, 158, 159, 166, 177, 180, 181, 182, 183, 184,
                                        185, 186, 187, 188, 189, 198, 199};
// Phones: the last 8 digits come from a permutation of [0, 1e8); persons use
// [0, kGuestBase) and guest phones the rest, so no two are ever equal.
constexpr uint64_t kPhoneSpace = 100'000'000;
constexpr uint64_t kGuestBase = 50'000'000;
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

// Channel weights of each habit: web, app, mini-program, store, call centre.
constexpr float kHabitChannels[kHabitCount][kSessionChannelCount] = {
    {0.78f, 0.08f, 0.04f, 0.08f, 0.02f},  // web-heavy
    {0.08f, 0.78f, 0.06f, 0.06f, 0.02f},  // app-heavy
    {0.0f, 0.0f, 0.0f, 0.99f, 0.01f},     // store-only
    {0.25f, 0.32f, 0.14f, 0.27f, 0.02f},  // omnichannel
    {0.0f, 0.08f, 0.70f, 0.20f, 0.02f},   // mini-program
};
constexpr double kHabitShare[kHabitCount] = {0.25, 0.25, 0.20, 0.20, 0.10};
constexpr double kSegmentShare[kSegmentCount] = {0.05, 0.20, 0.45, 0.30};
constexpr double kSegmentActivity[kSegmentCount] = {4.0, 2.0, 1.0, 0.45};
constexpr double kTopAffinity[] = {0.20, 0.18, 0.15, 0.10, 0.14, 0.08, 0.07, 0.08};

// Zero-padded decimal, by hand: identifiers are written on every event.
void AppendPadded(std::string& out, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[23 - n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 24);
  while (n < width && n < 24) buf[23 - n++] = '0';
  out.append(buf + 24 - n, static_cast<size_t>(n));
}

// 36-char UUID from two hash words; version 4 / RFC 4122 variant bits set so
// cookie ids look like what browsers' analytics libraries store.
void AppendUuid(std::string& out, uint64_t hi, uint64_t lo, const char* hex) {
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);
  const uint64_t words[2] = {hi, lo};
  int nibble = 0;
  for (int w = 0; w < 2; ++w) {
    for (int k = 15; k >= 0; --k, ++nibble) {
      if (nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20) out.push_back('-');
      out.push_back(hex[(words[w] >> (4 * k)) & 15]);
    }
  }
}

}  // namespace

std::string_view HabitName(Habit h) {
  static constexpr std::string_view kNames[] = {"web_heavy", "app_heavy", "store_only", "omnichannel",
                                                "miniprogram"};
  return kNames[static_cast<int>(h)];
}

std::string_view SegmentName(Segment s) {
  static constexpr std::string_view kNames[] = {"vip", "loyal", "regular", "occasional"};
  return kNames[static_cast<int>(s)];
}

Population::Population(const PopulationOptions& options, const Catalogue& catalogue, Rng& rng)
    : seed_(options.seed),
      hours_(options.hours),
      phone_perm_(kPhoneSpace, HashOf(options.seed, 0x50484f4e45)) {
  const int64_t n = options.customers;
  OMNI_CHECK(n > 0 && static_cast<uint64_t>(n) <= kGuestBase);
  width_ = std::max(7, static_cast<int>(std::to_string(n).size()));
  persons_.resize(static_cast<size_t>(n));
  // Identifier numbers are rendered on every event: compute the keyed
  // permutations once.
  const Permutation member_perm(100'000'000, HashOf(options.seed, 0x4d454d424552));
  const Permutation customer_perm(1'000'000'000, HashOf(options.seed, 0x43555354));
  phone_no_.resize(static_cast<size_t>(n));
  member_no_.resize(static_cast<size_t>(n));
  customer_no_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto u = static_cast<uint64_t>(i);
    phone_no_[static_cast<size_t>(i)] = static_cast<uint32_t>(phone_perm_(u));
    member_no_[static_cast<size_t>(i)] = static_cast<uint32_t>(member_perm(u));
    customer_no_[static_cast<size_t>(i)] = static_cast<uint32_t>(customer_perm(u));
  }
  std::vector<double> activity(static_cast<size_t>(n));
  std::vector<double> city_w;
  for (int c = 0; c < Catalogue::CityCount(); ++c) city_w.push_back(Catalogue::CityWeight(c));
  // Every city also has online-only shoppers beyond the store network.
  const std::span<const double> habit_share(kHabitShare);
  const std::span<const double> segment_share(kSegmentShare);
  std::unordered_set<uint64_t> emails;
  emails.reserve(static_cast<size_t>(n));

  for (int64_t i = 0; i < n; ++i) {
    Person& p = persons_[static_cast<size_t>(i)];
    p.habit = static_cast<Habit>(rng.Pick(habit_share));
    p.segment = static_cast<Segment>(rng.Pick(segment_share));
    p.city = static_cast<uint8_t>(rng.Pick(city_w));
    p.home_store = static_cast<int16_t>(catalogue.SampleStoreIn(p.city, rng));
    p.fav_top[0] = static_cast<uint8_t>(rng.Pick(kTopAffinity));
    do {
      p.fav_top[1] = static_cast<uint8_t>(rng.Pick(kTopAffinity));
    } while (p.fav_top[1] == p.fav_top[0]);
    p.ios = rng.Chance(0.3);
    const int h = static_cast<int>(p.habit);
    for (int c = 0; c < kSessionChannelCount; ++c) p.channel_weight[c] = kHabitChannels[h][c];

    // Identifiers by habit. Members are enrolled with their mobile number, so
    // member_card implies phone; a person seen in stores always has one of them.
    uint16_t has = 0;
    const bool store = p.habit == Habit::kStore;
    if (!store) has |= kSlotCustomerId;
    const double member_p = store || p.habit == Habit::kOmni ? 1.0 : (p.habit == Habit::kMini ? 0.5 : 0.15);
    if (rng.Chance(member_p)) has |= kSlotMemberCard;
    const double phone_p = p.habit == Habit::kWeb ? 0.8 : (p.habit == Habit::kApp ? 0.9 : 1.0);
    if ((has & kSlotMemberCard) || rng.Chance(phone_p)) has |= kSlotPhone;
    static constexpr double kEmailP[kHabitCount] = {0.9, 0.45, 0.08, 0.65, 0.1};
    if (rng.Chance(kEmailP[h])) has |= kSlotEmail;
    // Every mini-program user has a WeChat openid; others follow the brand's
    // official account.
    static constexpr double kSocialP[kHabitCount] = {0.1, 0.2, 0.25, 0.5, 1.0};
    if (p.channel_weight[kSessMini] > 0 || rng.Chance(kSocialP[h])) has |= kSlotSocial;
    if (p.channel_weight[kSessApp] > 0) has |= kSlotDevice0;
    if (p.channel_weight[kSessWeb] > 0) has |= kSlotCookie;
    if (!(has & kSlotPhone)) p.channel_weight[kSessStore] = 0;  // nothing to identify them at the till
    // Social-only followers need a mini-program visit to connect their openid.
    if ((has & kSlotSocial) && p.channel_weight[kSessMini] == 0) p.channel_weight[kSessMini] = 0.02f;
    if ((has & kSlotSocial) && !(has & (kSlotPhone | kSlotCustomerId))) has &= ~kSlotSocial;
    p.has = has;

    if ((has & kSlotDevice0) && rng.Chance(0.2)) {
      p.device_switch_h = static_cast<int32_t>(rng.Below(static_cast<uint64_t>(options.hours)));
      p.has |= kSlotDevice1;
    }
    p.new_customer = rng.Chance(0.25);
    p.active_from_h = p.new_customer ? static_cast<int32_t>(rng.Below(static_cast<uint64_t>(options.hours))) : 0;
    p.active_until_h = options.hours;
    if (rng.Chance(0.2)) {
      p.active_until_h = p.active_from_h +
                         static_cast<int32_t>(rng.Below(static_cast<uint64_t>(options.hours - p.active_from_h) + 1));
    }
    // A store visit yields a whole basket of lines: store-only shoppers come
    // less often so the till does not drown out the clickstream.
    p.activity = static_cast<float>(rng.LogNormal(0, 0.9) * kSegmentActivity[static_cast<int>(p.segment)] *
                                    (p.habit == Habit::kStore ? 0.6 : 1.0));
    activity[static_cast<size_t>(i)] = p.activity;

    // E-mail: unique by construction of the disambiguator, checked on a set
    // of hashes only while building.
    if (has & kSlotEmail) {
      p.surname = static_cast<uint8_t>(rng.Below(std::size(kSurnames)));
      p.given = static_cast<uint8_t>(rng.Below(std::size(kGiven)));
      p.email_style = static_cast<uint8_t>(rng.Below(5));
      p.email_domain = static_cast<uint8_t>(p.email_style == 3 ? 0 : 1 + rng.Below(std::size(kDomains) - 1));
      p.email_num = p.email_style == 3 ? static_cast<uint32_t>(10'000'000 + rng.Below(2'000'000'000))
                                       : static_cast<uint32_t>(1970 + rng.Below(40));
      std::string e;
      for (;;) {
        e.clear();
        AppendEmailLower(e, static_cast<int32_t>(i));
        uint64_t hash = seed_;
        for (unsigned char c : e) hash = Mix64(hash ^ c);
        if (emails.insert(hash).second) break;
        p.email_style = p.email_style == 3 ? 3 : 2;  // a style that carries the number
        p.email_num = p.email_num * 7 + 13 + static_cast<uint32_t>(rng.Below(1000));
      }
    }
  }
  by_activity_ = AliasTable(activity);

  // Households sharing one tablet or family PC: online persons, 2-4 each, so
  // the shared device is seen with several distinct customer_ids.
  const int64_t target_members = static_cast<int64_t>(static_cast<double>(n) * options.shared_device_rate);
  int64_t misses = 0;
  while (household_members_ + 2 <= target_members && misses < 100 * n) {
    const int size = static_cast<int>(rng.Between(2, 4));
    std::vector<int32_t> members;
    while (static_cast<int>(members.size()) < size && misses < 100 * n) {
      const int32_t q = static_cast<int32_t>(rng.Below(static_cast<uint64_t>(n)));
      const Person& c = persons_[static_cast<size_t>(q)];
      const bool online = c.channel_weight[kSessWeb] + c.channel_weight[kSessApp] >= 0.3f;
      // Members active all year, so each of them is seen on the shared screen.
      const bool regular = !c.new_customer && c.active_until_h == options.hours && c.activity >= 1.0f;
      if (c.household >= 0 || !online || !regular || !(c.has & kSlotCustomerId) ||
          std::find(members.begin(), members.end(), q) != members.end()) {
        ++misses;
        continue;
      }
      members.push_back(q);
    }
    if (static_cast<int>(members.size()) < 2) break;
    const int32_t hh = static_cast<int32_t>(households_++);
    for (int32_t q : members) {
      Person& m = persons_[static_cast<size_t>(q)];
      m.household = hh;
      m.shared = HouseholdKind(hh);
      m.has |= kSlotShared;
      // The shared screen must be usable: give the household's channel weight.
      if (m.shared == SharedKind::kTablet && m.channel_weight[kSessApp] < 0.1f) m.channel_weight[kSessApp] = 0.1f;
      if (m.shared == SharedKind::kFamilyPc && m.channel_weight[kSessWeb] < 0.1f) m.channel_weight[kSessWeb] = 0.1f;
      ++household_members_;
    }
  }
}

SharedKind Population::HouseholdKind(int32_t household) const {
  return (HashOf(seed_, 0x4848, static_cast<uint64_t>(household)) & 1) ? SharedKind::kTablet
                                                                       : SharedKind::kFamilyPc;
}

int Population::KioskOf(int32_t p) const {
  return static_cast<int>(HashOf(seed_, 0x4b494f534b, static_cast<uint64_t>(p)) & 1);
}

void Population::AppendPersonId(std::string& out, int32_t p) const {
  out.push_back('P');
  AppendPadded(out, static_cast<uint64_t>(p) + 1, width_);
}

void Population::AppendCustomerId(std::string& out, int32_t p) const {
  out.push_back('C');
  AppendPadded(out, customer_no_[static_cast<size_t>(p)], 9);
}

void Population::AppendMemberCard(std::string& out, int32_t p) const {
  out.push_back('M');
  AppendPadded(out, member_no_[static_cast<size_t>(p)], 8);
}

uint64_t Population::PhoneNumber(int32_t p) const {
  const uint64_t prefix = kMobilePrefixes[HashOf(seed_, 0x5052, static_cast<uint64_t>(p)) % std::size(kMobilePrefixes)];
  return prefix * kPhoneSpace + phone_no_[static_cast<size_t>(p)];
}

uint64_t Population::GuestPhoneNumber(int32_t p) const {
  const uint64_t prefix = kMobilePrefixes[HashOf(seed_, 0x4750, static_cast<uint64_t>(p)) % std::size(kMobilePrefixes)];
  return prefix * kPhoneSpace + phone_perm_(kPhoneSpace - 1 - static_cast<uint64_t>(p));
}

namespace {

// Writes an 11-digit mainland mobile number in one of the spellings sources use.
void AppendPhoneNumber(std::string& out, uint64_t number, int variant) {
  char d[11];
  for (int k = 10; k >= 0; --k, number /= 10) d[k] = static_cast<char>('0' + number % 10);
  const std::string_view a(d, 3), b(d + 3, 4), c(d + 7, 4);
  auto join = [&](std::string_view prefix, char sep) {
    out += prefix;
    out += a;
    out.push_back(sep);
    out += b;
    out.push_back(sep);
    out += c;
  };
  switch (variant) {
    case 0: out.append(d, 11); break;                    // 13800138000 (tills)
    case 1: join("", ' '); break;                        // 138 0013 8000
    case 2: join("+86-", '-'); break;                    // +86-138-0013-8000
    case 3: out += "+86"; out.append(d, 11); break;      // +8613800138000 (E.164)
    case 4: join("+86 ", ' '); break;                    // +86 138 0013 8000
    case 5: join("0086 ", ' '); break;                   // 0086 138 0013 8000
    default: join("", '-'); break;                       // 138-0013-8000
  }
}

}  // namespace

void Population::AppendPhone(std::string& out, int32_t p, int variant) const {
  AppendPhoneNumber(out, PhoneNumber(p), variant);
}

void Population::AppendGuestPhone(std::string& out, int32_t p, int variant) const {
  AppendPhoneNumber(out, GuestPhoneNumber(p), variant);
}

void Population::AppendEmailLower(std::string& out, int32_t p) const {
  const Person& ps = persons_[static_cast<size_t>(p)];
  const std::string_view sur = kSurnames[ps.surname], giv = kGiven[ps.given];
  switch (ps.email_style) {
    case 0: out += giv; out += '.'; out += sur; break;                            // wei.li
    case 1: out += sur; out += giv; AppendInt(out, ps.email_num); break;          // liwei1988
    case 2: out += sur; out += '_'; out += giv; AppendInt(out, ps.email_num); break;  // li_wei1988
    case 3: AppendInt(out, ps.email_num); break;                                  // 58273615 (QQ)
    default: out += giv; out += sur; out += '.'; AppendInt(out, ps.email_num % 100); break;
  }
  out += '@';
  out += kDomains[ps.email_domain];
}

void Population::AppendEmail(std::string& out, int32_t p, int variant) const {
  if (variant == 4) out += ' ';  // pasted with spaces; normalisation trims
  const size_t body = out.size();
  AppendEmailLower(out, p);
  const size_t at = out.find('@', body);
  switch (variant) {
    case 1: {  // Wei.Li@163.com: capitalised words
      bool word_start = true;
      for (size_t k = body; k < out.size(); ++k) {
        char& c = out[k];
        if (word_start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
        word_start = c == '.' || c == '_' || c == '@';
      }
      break;
    }
    case 2:  // wei.li@GMAIL.COM
      for (size_t k = at + 1; k < out.size(); ++k) {
        if (out[k] >= 'a' && out[k] <= 'z') out[k] = static_cast<char>(out[k] - 32);
      }
      break;
    case 3:  // WEI.LI@163.COM
      for (size_t k = body; k < out.size(); ++k) {
        if (out[k] >= 'a' && out[k] <= 'z') out[k] = static_cast<char>(out[k] - 32);
      }
      break;
    case 4: out += ' '; break;
    default: break;
  }
}

void Population::AppendSocialId(std::string& out, int32_t p) const {
  // WeChat openids: 'o' + 27 base64url characters (28 in all).
  out.push_back('o');
  uint64_t h = 0;
  for (int k = 0; k < 27; ++k) {
    if (k % 10 == 0) h = HashOf(seed_, 0x534f43, static_cast<uint64_t>(p), static_cast<uint64_t>(k));
    out.push_back(kBase64Url[h & 63]);
    h >>= 6;
  }
}

void Population::AppendDeviceId(std::string& out, int32_t p, int device) const {
  const uint64_t hi = HashOf(seed_, 0x444556, static_cast<uint64_t>(p), static_cast<uint64_t>(device));
  if (persons_[static_cast<size_t>(p)].ios) {
    AppendUuid(out, hi, Mix64(hi ^ 0x494f53), kHexUpper);  // IDFV
  } else {
    for (int k = 15; k >= 0; --k) out.push_back(kHexLower[(hi >> (4 * k)) & 15]);  // ANDROID_ID
  }
}

void Population::AppendCookieId(std::string& out, int32_t p, int cookie) const {
  const uint64_t hi = HashOf(seed_, 0x434f4f4b, static_cast<uint64_t>(p), static_cast<uint64_t>(cookie));
  AppendUuid(out, hi, Mix64(hi ^ 0x434b), kHexLower);
}

void Population::AppendSharedId(std::string& out, int32_t household) const {
  const uint64_t hi = HashOf(seed_, 0x53484152, static_cast<uint64_t>(household));
  if (HouseholdKind(household) == SharedKind::kTablet) {
    AppendUuid(out, hi, Mix64(hi ^ 0x544142), kHexUpper);  // the family iPad's IDFV
  } else {
    AppendUuid(out, hi, Mix64(hi ^ 0x5043), kHexLower);  // the family PC's browser cookie
  }
}

void Population::AppendKioskId(std::string& out, const Store& store, int kiosk) {
  out += "KIOSK-";
  out += store.id;
  out += '-';
  AppendInt(out, kiosk + 1);
}

StatusOr<int64_t> Population::WriteTruthCsv(const std::string& path, const Catalogue& catalogue) const {
  OutputFile f;
  OMNI_RETURN_IF_ERROR(f.Open(path));
  f.buf() += "person_id,identity_type,identity_value,shared\n";
  int64_t rows = 0;
  std::string pid;
  for (int32_t p = 0; p < static_cast<int32_t>(persons_.size()); ++p) {
    const Person& ps = persons_[static_cast<size_t>(p)];
    if (ps.used == 0) continue;
    pid.clear();
    AppendPersonId(pid, p);
    std::string& b = f.buf();
    auto row = [&](std::string_view type, auto&& value, std::string_view shared) {
      b += pid;
      b += ',';
      b += type;
      b += ',';
      value(b);
      b += ',';
      b += shared;
      b += '\n';
      ++rows;
    };
    if (ps.used & kSlotCustomerId) row("customer_id", [&](std::string& o) { AppendCustomerId(o, p); }, "");
    if (ps.used & kSlotMemberCard) row("member_card", [&](std::string& o) { AppendMemberCard(o, p); }, "");
    if (ps.used & kSlotPhone) row("phone", [&](std::string& o) { AppendPhoneE164(o, p); }, "");
    if (ps.used & kSlotEmail) row("email", [&](std::string& o) { AppendEmailNormalised(o, p); }, "");
    if (ps.used & kSlotSocial) row("social_id", [&](std::string& o) { AppendSocialId(o, p); }, "");
    if (ps.used & kSlotDevice0) row("device_id", [&](std::string& o) { AppendDeviceId(o, p, 0); }, "");
    if (ps.used & kSlotDevice1) row("device_id", [&](std::string& o) { AppendDeviceId(o, p, 1); }, "");
    for (int k = 0; k < ps.cookies_used; ++k) row("cookie_id", [&](std::string& o) { AppendCookieId(o, p, k); }, "");
    if (ps.used & kSlotGuestPhone) row("phone", [&](std::string& o) { AppendGuestPhone(o, p, 3); }, "guest");
    if (ps.used & kSlotShared) {
      row(ps.shared == SharedKind::kTablet ? "device_id" : "cookie_id",
          [&](std::string& o) { AppendSharedId(o, ps.household); }, "household");
    }
    if (ps.used & kSlotKiosk) {
      const Store& s = catalogue.stores()[static_cast<size_t>(ps.home_store)];
      row("device_id", [&](std::string& o) { AppendKioskId(o, s, KioskOf(p) % std::max(1, s.kiosks)); }, "kiosk");
    }
    OMNI_RETURN_IF_ERROR(f.MaybeFlush());
  }
  OMNI_RETURN_IF_ERROR(f.Close());
  return rows;
}

StatusOr<int64_t> Population::WritePersonsCsv(const std::string& path, const Catalogue& catalogue) const {
  OutputFile f;
  OMNI_RETURN_IF_ERROR(f.Open(path));
  f.buf() += "person_id,segment,habit,city,home_store,new_customer,churned,household,events\n";
  int64_t rows = 0;
  for (int32_t p = 0; p < static_cast<int32_t>(persons_.size()); ++p) {
    const Person& ps = persons_[static_cast<size_t>(p)];
    std::string& b = f.buf();
    AppendPersonId(b, p);
    b += ',';
    b += SegmentName(ps.segment);
    b += ',';
    b += HabitName(ps.habit);
    b += ',';
    b += Catalogue::CityName(ps.city);
    b += ',';
    if (ps.channel_weight[kSessStore] > 0) b += catalogue.stores()[static_cast<size_t>(ps.home_store)].id;
    b += ps.new_customer ? ",1," : ",0,";
    b += ps.active_until_h < hours_ ? "1," : "0,";
    if (ps.household >= 0) AppendInt(b, ps.household + 1);
    b += ',';
    AppendInt(b, ps.events);
    b += '\n';
    ++rows;
    OMNI_RETURN_IF_ERROR(f.MaybeFlush());
  }
  OMNI_RETURN_IF_ERROR(f.Close());
  return rows;
}

}  // namespace omni::demo
