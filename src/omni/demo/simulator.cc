#include "omni/demo/simulator.h"

#include <algorithm>
#include <cmath>

namespace omni::demo {
namespace {

// Share of activity units that are answers to marketing rather than visits.
constexpr double kMarketingShare = 0.13;
constexpr int64_t kSecondMs = 1000;

bool OpenAt(SessionChannel c, int local_hour) {
  if (c == kSessStore) return local_hour >= 10 && local_hour < 22;
  if (c == kSessCall) return local_hour >= 9 && local_hour < 21;
  return true;
}

// Identifiers a channel can add to connect an event to the person's others,
// in order of preference.
struct Partners {
  IdKind kinds[3];
  int n;
};
Partners PartnersOf(Channel c) {
  switch (c) {
    case Channel::kWeb: return {{IdKind::kCustomerId, IdKind::kEmail, IdKind::kPhone}, 3};
    case Channel::kApp: return {{IdKind::kCustomerId, IdKind::kPhone, IdKind::kEmail}, 3};
    case Channel::kMiniprogram: return {{IdKind::kPhone, IdKind::kCustomerId, IdKind::kPhone}, 2};
    case Channel::kStore: return {{IdKind::kMemberCard, IdKind::kPhone, IdKind::kPhone}, 2};
    case Channel::kKiosk: return {{IdKind::kMemberCard, IdKind::kMemberCard, IdKind::kMemberCard}, 1};
    case Channel::kCallcenter: return {{IdKind::kPhone, IdKind::kCustomerId, IdKind::kMemberCard}, 3};
    case Channel::kEmail: return {{IdKind::kCustomerId, IdKind::kMemberCard, IdKind::kMemberCard}, 2};
    case Channel::kSms: return {{IdKind::kMemberCard, IdKind::kCustomerId, IdKind::kCustomerId}, 2};
    case Channel::kSocial: return {{IdKind::kSocialId, IdKind::kSocialId, IdKind::kSocialId}, 0};
  }
  return {{IdKind::kCustomerId, IdKind::kCustomerId, IdKind::kCustomerId}, 0};
}

uint16_t HasSlot(IdKind k) {
  switch (k) {
    case IdKind::kCustomerId: return kSlotCustomerId;
    case IdKind::kMemberCard: return kSlotMemberCard;
    case IdKind::kPhone: return kSlotPhone;
    case IdKind::kEmail: return kSlotEmail;
    case IdKind::kSocialId: return kSlotSocial;
    default: return 0;
  }
}

// The slot an identity connects through (0: never connects: guest phones,
// household screens, kiosks, cookies other than the current one).
uint16_t LinkSlot(const Person& ps, const IdRef& r) {
  switch (r.kind) {
    case IdKind::kDevice: return r.sub == 0 ? kSlotDevice0 : kSlotDevice1;
    case IdKind::kCookie: return r.sub + 1 == ps.cookies ? kSlotCookie : 0;
    default: return HasSlot(r.kind);
  }
}

uint16_t UsedSlot(const Person& ps, const IdRef& r) {
  switch (r.kind) {
    case IdKind::kCookie: return kSlotCookie;
    case IdKind::kGuestPhone: return kSlotGuestPhone;
    case IdKind::kShared: return kSlotShared;
    case IdKind::kKiosk: return kSlotKiosk;
    default: return LinkSlot(ps, r);
  }
}

}  // namespace

struct Simulator::Session {
  int32_t p = 0;
  Channel ch = Channel::kWeb;
  int64_t t = 0;
  int16_t campaign = -1;
  Via via = Via::kPush;
  int store = -1;
  bool guest = false;
  bool shared = false;
  uint8_t n_ids = 0;
  IdRef ids[6];
};

Simulator::Simulator(const DemoOptions& options, const Catalogue& catalogue, Population& population,
                     const CampaignCalendar& calendar, Rng& rng, EventQueue& queue)
    : options_(options),
      catalogue_(catalogue),
      population_(population),
      calendar_(calendar),
      rng_(rng),
      queue_(queue),
      start_ms_(options.start_ms),
      store_orders_(catalogue.stores().size(), 0) {
  // One store in eight uploads the day's receipts at closing time.
  for (size_t s = 0; s < catalogue.stores().size(); ++s) {
    batch_upload_store_.push_back(HashOf(options.seed, 0x4241544348, s) % 8 == 0);
  }
}

void Simulator::RunUnit(int32_t hour) {
  const int64_t t = start_ms_ + hour * kHourMs + static_cast<int64_t>(rng_.Below(kHourMs));
  if (rng_.Chance(kMarketingShare)) {
    MarketingTouch(t, hour);
    return;
  }
  const int local_hour = static_cast<int>((t + kLocalOffsetMs) / kHourMs % 24);
  for (int attempt = 0; attempt < 40; ++attempt) {
    const int32_t p = population_.SamplePerson(rng_);
    Person& ps = population_.person(p);
    if (hour < ps.active_from_h || hour >= ps.active_until_h) continue;
    double weights[kSessionChannelCount];
    std::copy(ps.channel_weight, ps.channel_weight + kSessionChannelCount, weights);
    const auto c = static_cast<SessionChannel>(rng_.Pick(weights));
    if (!OpenAt(c, local_hour)) continue;
    switch (c) {
      case kSessWeb: OnlineSession(p, Channel::kWeb, t, -1, Via::kPush, -1); break;
      case kSessApp: OnlineSession(p, Channel::kApp, t, -1, Via::kPush, -1); break;
      case kSessMini: OnlineSession(p, Channel::kMiniprogram, t, -1, Via::kPush, -1); break;
      case kSessCall: CallSession(p, t); break;
      case kSessStore: {
        const double u = rng_.Uniform();
        int store = ps.home_store;
        if (u > 0.97) store = static_cast<int>(rng_.Below(catalogue_.stores().size()));
        else if (u > 0.8) store = catalogue_.SampleStoreIn(ps.city, rng_);
        StoreSession(p, store, t, -1);
        break;
      }
    }
    return;
  }
}

// --- identities ------------------------------------------------------------

int Simulator::PhoneVariant(Channel ch) {
  const double u = rng_.Uniform();
  switch (ch) {
    case Channel::kStore: return u < 0.85 ? 0 : 6;
    case Channel::kWeb: return u < 0.4 ? 1 : (u < 0.7 ? 4 : (u < 0.9 ? 2 : 0));
    case Channel::kApp: return u < 0.7 ? 3 : 0;
    case Channel::kMiniprogram: return u < 0.6 ? 0 : 3;
    case Channel::kCallcenter: return u < 0.5 ? 6 : (u < 0.8 ? 5 : 0);
    case Channel::kSms: return u < 0.5 ? 3 : 2;
    default: return 0;
  }
}

int Simulator::EmailVariant(Channel ch) {
  const double u = rng_.Uniform();
  if (ch == Channel::kWeb) return u < 0.6 ? 0 : (u < 0.85 ? 1 : (u < 0.95 ? 2 : (u < 0.98 ? 3 : 4)));
  if (ch == Channel::kApp) return u < 0.8 ? 0 : 1;
  return u < 0.85 ? 0 : 1;
}

void Simulator::AddId(DemoEvent& e, IdKind kind, uint8_t variant, uint16_t sub) const {
  // One identity per JSON key: a guest phone is a "phone", a kiosk a
  // "device_id", a household screen a "device_id" (tablet) or "cookie_id" (PC).
  auto key = [&](IdKind k) {
    switch (k) {
      case IdKind::kGuestPhone: return IdKind::kPhone;
      case IdKind::kKiosk: return IdKind::kDevice;
      case IdKind::kShared:
        return population_.HouseholdKind(population_.person(e.person).household) == SharedKind::kTablet
                   ? IdKind::kDevice
                   : IdKind::kCookie;
      default: return k;
    }
  };
  for (int i = 0; i < e.n_ids; ++i) {
    if (key(e.ids[i].kind) == key(kind)) return;
  }
  if (e.n_ids >= 6) return;
  e.ids[e.n_ids++] = {kind, variant, sub};
}

void Simulator::ComposeIds(Session& s, bool login_first) {
  Person& ps = population_.person(s.p);
  DemoEvent tmp;
  tmp.person = s.p;
  auto add = [&](IdKind k, uint8_t variant = 0, uint16_t sub = 0) { AddId(tmp, k, variant, sub); };
  const uint16_t has = ps.has;
  const int32_t hour = static_cast<int32_t>((s.t - start_ms_) / kHourMs);
  switch (s.ch) {
    case Channel::kWeb: {
      if (s.shared) {
        add(IdKind::kShared);
        add(IdKind::kCustomerId);
        break;
      }
      bool login = login_first;
      if (ps.cookies == 0) {
        ps.cookies = 1;
      } else if (!s.guest && ps.cookies == ps.cookies_used && ps.cookies < 60000 && rng_.Chance(0.03)) {
        // Cleared cookies / a new browser: the visitor logs in again.
        ++ps.cookies;
        ps.linked &= static_cast<uint16_t>(~kSlotCookie);
        login = true;
      }
      add(IdKind::kCookie, 0, static_cast<uint16_t>(ps.cookies - 1));
      if (s.guest) break;
      if ((has & kSlotCustomerId) && (login || rng_.Chance(0.55))) {
        add(IdKind::kCustomerId);
        // Logged in with the e-mail address rather than the account name.
        if ((has & kSlotEmail) && rng_.Chance(0.3)) add(IdKind::kEmail, static_cast<uint8_t>(EmailVariant(s.ch)));
      }
      break;
    }
    case Channel::kApp: {
      if (s.shared) {
        add(IdKind::kShared);
        add(IdKind::kCustomerId);
        break;
      }
      const uint16_t device = hour >= ps.device_switch_h ? 1 : 0;
      add(IdKind::kDevice, 0, device);
      if ((has & kSlotCustomerId) && (login_first || rng_.Chance(0.85))) add(IdKind::kCustomerId);
      if ((has & kSlotPhone) && rng_.Chance(0.1)) add(IdKind::kPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
      break;
    }
    case Channel::kMiniprogram:
      if (has & kSlotSocial) add(IdKind::kSocialId);
      if ((has & kSlotPhone) && (login_first || rng_.Chance(0.6))) {
        add(IdKind::kPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
      }
      if ((has & kSlotCustomerId) && (login_first || rng_.Chance(0.5))) add(IdKind::kCustomerId);
      break;
    case Channel::kStore:
      if (s.guest) {
        add(IdKind::kGuestPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
        break;
      }
      if ((has & kSlotMemberCard) && (login_first || rng_.Chance(0.92))) add(IdKind::kMemberCard);
      // "报手机号": members often give their number instead of the card.
      if ((has & kSlotPhone) && (tmp.n_ids == 0 || rng_.Chance(0.3))) {
        add(IdKind::kPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
      }
      break;
    case Channel::kCallcenter:
      if (has & kSlotPhone) add(IdKind::kPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
      if ((has & kSlotCustomerId) && (login_first || rng_.Chance(0.7))) add(IdKind::kCustomerId);
      else if ((has & kSlotMemberCard) && (login_first || rng_.Chance(0.7))) add(IdKind::kMemberCard);
      break;
    case Channel::kEmail:
      add(IdKind::kEmail, static_cast<uint8_t>(EmailVariant(s.ch)));
      if ((has & kSlotCustomerId) && rng_.Chance(0.3)) add(IdKind::kCustomerId);  // the ESP's CRM sync
      break;
    case Channel::kSms:
      add(IdKind::kPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
      break;
    case Channel::kSocial:
      add(IdKind::kSocialId);
      break;
    case Channel::kKiosk:
      break;
  }
  s.n_ids = tmp.n_ids;
  std::copy(tmp.ids, tmp.ids + tmp.n_ids, s.ids);
}

DemoEvent Simulator::NewEvent(const Session& s, EventType type) const {
  DemoEvent e;
  e.ts_ms = s.t;
  e.person = s.p;
  e.channel = s.ch;
  e.type = type;
  e.store = static_cast<int16_t>(s.store);
  e.campaign = s.campaign;
  e.via = s.via;
  e.n_ids = s.n_ids;
  std::copy(s.ids, s.ids + s.n_ids, e.ids);
  e.with_ms = s.ch == Channel::kWeb;
  e.epoch_ts = s.ch == Channel::kMiniprogram || s.ch == Channel::kKiosk;
  return e;
}

bool Simulator::Emit(DemoEvent& e, bool allow_partner) {
  Person& ps = population_.person(e.person);
  bool connected = ps.linked == 0;  // the first identifiers define the person
  for (int i = 0; i < e.n_ids && !connected; ++i) connected = (ps.linked & LinkSlot(ps, e.ids[i])) != 0;
  if (!connected && allow_partner) {
    const Partners partners = PartnersOf(e.channel);
    for (int k = 0; k < partners.n && !connected; ++k) {
      const uint16_t slot = HasSlot(partners.kinds[k]);
      if ((ps.linked & slot) && !e.HasKind(partners.kinds[k])) {
        const uint8_t variant = partners.kinds[k] == IdKind::kPhone    ? static_cast<uint8_t>(PhoneVariant(e.channel))
                                : partners.kinds[k] == IdKind::kEmail ? static_cast<uint8_t>(EmailVariant(e.channel))
                                                                       : 0;
        AddId(e, partners.kinds[k], variant);
        connected = e.HasKind(partners.kinds[k]);
      }
    }
  }
  if (e.n_ids == 0) return false;
  // Arrival: app SDKs queue events offline; some stores upload at closing.
  e.key_ms = e.ts_ms;
  if (e.channel == Channel::kApp && rng_.Chance(0.03)) {
    e.key_ms += std::min<int64_t>(static_cast<int64_t>(rng_.Exponential(10.0 * kMinuteMs)), 2 * kHourMs);
  } else if (e.channel == Channel::kStore && e.store >= 0 && batch_upload_store_[static_cast<size_t>(e.store)]) {
    const int64_t closing = LocalMidnightMs(LocalDay(e.ts_ms)) + 23 * kHourMs;
    e.key_ms = std::max(e.key_ms, closing);
  }
  if (!queue_.Push(e)) return false;
  uint16_t link = 0, used = 0;
  for (int i = 0; i < e.n_ids; ++i) {
    link |= LinkSlot(ps, e.ids[i]);
    used |= UsedSlot(ps, e.ids[i]);
    if (e.ids[i].kind == IdKind::kCookie) {
      ps.cookies_used = std::max<uint16_t>(ps.cookies_used, static_cast<uint16_t>(e.ids[i].sub + 1));
    }
  }
  if (connected) ps.linked |= link;
  ps.used |= used;
  ++ps.events;
  return true;
}

void Simulator::Onboard(Session& s) {
  Person& ps = population_.person(s.p);
  ps.started = true;
  if (ps.new_customer) {
    DemoEvent e = NewEvent(s, EventType::kSignup);
    e.props = Props::kSignup;
    e.prop_a = s.ch == Channel::kStore ? 3 : (s.ch == Channel::kMiniprogram ? 2 : (e.HasKind(IdKind::kEmail) && rng_.Chance(0.5) ? 1 : 0));
    Emit(e);
    s.t += rng_.Between(5, 40) * kSecondMs;
  }
  // Consent is captured (new customers) or synced (existing ones) with the
  // identifier it applies to.
  if (ps.has & kSlotPhone) {
    ps.sms_consent = rng_.Chance(0.7);
    DemoEvent e = NewEvent(s, EventType::kConsent);
    AddId(e, IdKind::kPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
    e.props = Props::kConsent;
    e.prop_a = 0;
    e.prop_b = ps.sms_consent;
    Emit(e);
    s.t += rng_.Between(1, 5) * kSecondMs;
  }
  if (ps.has & kSlotEmail) {
    ps.email_consent = rng_.Chance(0.6);
    DemoEvent e = NewEvent(s, EventType::kConsent);
    AddId(e, IdKind::kEmail, static_cast<uint8_t>(EmailVariant(s.ch)));
    e.props = Props::kConsent;
    e.prop_a = 1;
    e.prop_b = ps.email_consent;
    Emit(e);
    s.t += rng_.Between(1, 5) * kSecondMs;
  }
}

// --- sessions --------------------------------------------------------------

int32_t Simulator::PickItem(const Person& ps, int leaf) {
  auto draw = [&]() {
    if (leaf >= 0 && rng_.Chance(0.7)) return catalogue_.SampleItemInLeaf(leaf, rng_);
    const double u = rng_.Uniform();
    if (u < 0.6) return catalogue_.SampleItemInTop(ps.fav_top[0], rng_);
    if (u < 0.85) return catalogue_.SampleItemInTop(ps.fav_top[1], rng_);
    return catalogue_.SampleItem(rng_);
  };
  int32_t item = draw();
  // VIPs lean to the pricier of two candidates.
  if (ps.segment == Segment::kVip && rng_.Chance(0.5)) {
    const int32_t other = draw();
    if (catalogue_.item(other).price_cents > catalogue_.item(item).price_cents) item = other;
  }
  return item;
}

void Simulator::OnlineSession(int32_t p, Channel ch, int64_t t, int16_t campaign, Via via, int32_t landing) {
  Person& ps = population_.person(p);
  Session s;
  s.p = p;
  s.ch = ch;
  s.t = t;
  s.campaign = campaign;
  s.via = via;
  const bool first = !ps.started;
  // Household members soon use the family screen (so it is seen with
  // several customer_ids), then now and then.
  if (!first && ps.household >= 0 && rng_.Chance((ps.used & kSlotShared) ? 0.3 : 0.8)) {
    s.shared = true;  // on the family tablet / PC, logged in as themselves
    s.ch = ps.shared == SharedKind::kTablet ? Channel::kApp : Channel::kWeb;
  }
  if (!first && s.ch == Channel::kWeb && !s.shared && ps.cookies > 0 && (ps.linked & kSlotCookie) &&
      rng_.Chance(options_.guest_rate)) {
    s.guest = true;  // not logged in; pays as a guest if they buy
  }
  ComposeIds(s, first);
  if (s.n_ids == 0) return;
  if (first) Onboard(s);

  const int64_t day = LocalDay(s.t);
  const double boost = ConversionBoost(day);
  const int festival = calendar_.FestivalOn(day);
  const bool revisit = landing < 0 && ps.last_view_item >= 0 && MinuteOf(s.t) - ps.last_view_min < 14 * 1440 &&
                       rng_.Chance(0.35);
  int leaf = -1;
  if (!revisit && landing < 0 && rng_.Chance(0.3)) {
    const int32_t seed_item = PickItem(ps, -1);
    leaf = catalogue_.item(seed_item).leaf;
    DemoEvent e = NewEvent(s, EventType::kSearch);
    e.props = Props::kSearch;
    e.prop_a = static_cast<uint8_t>(leaf);
    e.prop_b = static_cast<uint8_t>(rng_.Below(3));
    Emit(e, !s.guest);
    s.t += rng_.Between(3, 20) * kSecondMs;
  }
  int32_t cart[8];
  int n_cart = 0;
  int32_t last_viewed = -1;
  const int views = 1 + std::min(rng_.Geometric(2.2), 11);
  for (int k = 0; k < views; ++k) {
    int32_t item = k == 0 && landing >= 0 ? landing : (k == 0 && revisit ? ps.last_view_item : PickItem(ps, leaf));
    if (!catalogue_.item(item).sold_online) continue;
    DemoEvent e = NewEvent(s, EventType::kView);
    e.item = item;
    if (!Emit(e, !s.guest)) return;
    last_viewed = item;
    double p_cart = 0.09 * boost;
    if (catalogue_.Leaves()[catalogue_.item(item).leaf].repeat) p_cart *= 1.4;
    if (k == 0 && revisit) p_cart *= 5;
    if (k == 0 && landing >= 0) p_cart *= 2.5;
    if (ps.segment == Segment::kVip) p_cart *= 1.3;
    const bool owned = !catalogue_.Leaves()[catalogue_.item(item).leaf].repeat && RecentlyBought(ps, item);
    if (!owned && n_cart < 6 && std::find(cart, cart + n_cart, item) == cart + n_cart &&
        rng_.Chance(std::min(p_cart, 0.8))) {
      s.t += rng_.Between(5, 40) * kSecondMs;
      DemoEvent c = NewEvent(s, EventType::kAddToCart);
      c.item = item;
      c.quantity = 1;
      c.price_cents = catalogue_.item(item).price_cents;
      if (Emit(c, !s.guest)) cart[n_cart++] = item;
    }
    s.t += std::max<int64_t>(kSecondMs, static_cast<int64_t>(rng_.LogNormal(std::log(35.0), 0.8) * kSecondMs));
  }
  if (n_cart > 0 && rng_.Chance(std::min(0.9, 0.45 * boost))) {
    // "Frequently bought together" on the cart page.
    const int32_t partner = catalogue_.item(cart[0]).partner;
    if (partner >= 0 && catalogue_.item(partner).sold_online && rng_.Chance(0.3) &&
        std::find(cart, cart + n_cart, partner) == cart + n_cart) {
      DemoEvent v = NewEvent(s, EventType::kView);
      v.item = partner;
      Emit(v, !s.guest);
      s.t += rng_.Between(5, 30) * kSecondMs;
      DemoEvent c = NewEvent(s, EventType::kAddToCart);
      c.item = partner;
      c.quantity = 1;
      c.price_cents = catalogue_.item(partner).price_cents;
      if (Emit(c, !s.guest)) cart[n_cart++] = partner;
      s.t += rng_.Between(5, 30) * kSecondMs;
    }
    if (s.campaign < 0 && festival >= 0 && rng_.Chance(0.35)) {
      s.campaign = static_cast<int16_t>(festival);
      s.via = Via::kPush;
    }
    Checkout(s, cart, n_cart);
    ps.last_view_item = -1;
  } else if (last_viewed >= 0) {
    ps.last_view_item = last_viewed;
    ps.last_view_min = MinuteOf(s.t);
    // Browse online, buy in store: the purchase-after-browse window.
    if (!s.guest && ps.channel_weight[kSessStore] > 0 && rng_.Chance(0.2)) {
      ScheduleStoreVisit(p, last_viewed, s.t);
    }
  }
}

void Simulator::Checkout(Session& s, const int32_t* cart, int n) {
  Person& ps = population_.person(s.p);
  s.t += rng_.Between(20, 300) * kSecondMs;
  const bool coupon = s.campaign >= 0 && !calendar_.campaigns()[static_cast<size_t>(s.campaign)].coupon.empty() &&
                      rng_.Chance(0.6);
  if (coupon) {
    DemoEvent e = NewEvent(s, EventType::kCouponRedeem);
    e.props = Props::kCoupon;
    Emit(e, !s.guest);
    s.t += rng_.Between(2, 10) * kSecondMs;
  }
  Session pay = s;
  if (s.guest) {
    // A guest pays with the browser's cookie only, or leaves only a phone
    // number (one that never shows up with their account).
    pay.n_ids = 0;
    DemoEvent tmp;
    tmp.person = s.p;
    if (rng_.Chance(0.5)) {
      AddId(tmp, IdKind::kCookie, 0, static_cast<uint16_t>(ps.cookies - 1));
    } else {
      AddId(tmp, IdKind::kGuestPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));
    }
    pay.n_ids = tmp.n_ids;
    std::copy(tmp.ids, tmp.ids + tmp.n_ids, pay.ids);
  }
  const int64_t order = ++online_orders_;
  const uint8_t payment = static_cast<uint8_t>(rng_.Below(4));  // alipay, wechat_pay, unionpay, huabei
  bool any = false;
  for (int k = 0; k < n; ++k) {
    const Item& it = catalogue_.item(cart[k]);
    const Leaf& leaf = catalogue_.Leaves()[it.leaf];
    DemoEvent e = NewEvent(pay, EventType::kPurchase);
    if (!s.guest && s.ch == Channel::kWeb && (ps.has & kSlotPhone) && rng_.Chance(0.5)) {
      AddId(e, IdKind::kPhone, static_cast<uint8_t>(PhoneVariant(s.ch)));  // delivery contact
    }
    e.item = cart[k];
    e.quantity = static_cast<int16_t>(leaf.repeat ? 1 + std::min(rng_.Geometric(0.6), 5)
                                                  : (rng_.Chance(0.88) ? 1 : 2));
    e.price_cents = coupon ? static_cast<int32_t>(std::lround(it.price_cents * 0.85)) : it.price_cents;
    e.order_no = order;
    e.props = Props::kPayment;
    e.prop_a = payment;
    e.prop_b = coupon;
    if (!Emit(e, !s.guest)) break;
    any = true;
    if (!leaf.repeat) RememberPurchase(ps, cart[k]);
    if (s.guest) ++counters_.guest_checkouts;
    if (rng_.Chance(leaf.refund_rate)) ScheduleRefund(e);
    s.t += kSecondMs;
  }
  if (any) ++counters_.orders;
}

void Simulator::ScheduleRefund(const DemoEvent& purchase) {
  DemoEvent r = purchase;
  r.type = EventType::kRefund;
  r.ts_ms = purchase.ts_ms + rng_.Between(2, 20) * kDayMs + static_cast<int64_t>(rng_.Below(kDayMs));
  if (r.channel == Channel::kStore) r.ts_ms = IntoOpenHours(r.ts_ms, 10, 21);
  r.props = Props::kRefund;
  r.prop_a = static_cast<uint8_t>(rng_.Below(6));
  r.prop_b = 0;
  r.campaign = -1;
  Emit(r, false);
}

int64_t Simulator::IntoOpenHours(int64_t t, int open_hour, int close_hour) {
  const int64_t day = LocalDay(t);
  const int64_t midnight = LocalMidnightMs(day);
  const int hour = static_cast<int>((t - midnight) / kHourMs);
  if (hour >= open_hour && hour < close_hour) return t;
  const int64_t open_day = hour < open_hour ? day : day + 1;
  return LocalMidnightMs(open_day) + open_hour * kHourMs +
         static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(close_hour - open_hour - 1) * kHourMs));
}

void Simulator::ScheduleStoreVisit(int32_t p, int32_t item, int64_t t) {
  const Person& ps = population_.person(p);
  double hours = rng_.LogNormal(std::log(20.0), 1.0);
  hours = std::clamp(hours, 1.0, 24.0 * 7);
  const int64_t visit = IntoOpenHours(t + static_cast<int64_t>(hours * kHourMs), 10, 22);
  const int store = rng_.Chance(0.85) ? ps.home_store : catalogue_.SampleStoreIn(ps.city, rng_);
  StoreSession(p, store, visit, item);
}

void Simulator::StoreSession(int32_t p, int store, int64_t t, int32_t target) {
  Person& ps = population_.person(p);
  const Store& st = catalogue_.stores()[static_cast<size_t>(store)];
  Session s;
  s.p = p;
  s.ch = Channel::kStore;
  s.t = t;
  s.store = store;
  const bool first = !ps.started;
  s.guest = !first && target < 0 && rng_.Chance(options_.guest_rate * 0.3);
  ComposeIds(s, first);
  if (s.n_ids == 0) return;
  if (first) Onboard(s);
  const int64_t day = LocalDay(s.t);
  const int festival = calendar_.FestivalOn(day);

  if (!s.guest && rng_.Chance(0.7)) {
    DemoEvent e = NewEvent(s, EventType::kStoreVisit);
    e.props = Props::kStoreVisit;
    e.prop_a = static_cast<uint8_t>(rng_.Between(5, 90));
    Emit(e);
  }
  const int dwell_min = static_cast<int>(rng_.Between(6, 50));
  // Self-service kiosk: tap the member card to browse or claim a coupon.
  if (!s.guest && store == ps.home_store && st.kiosks > 0 && (ps.has & kSlotMemberCard) &&
      (ps.linked & kSlotMemberCard) && rng_.Chance(0.08)) {
    Session k = s;
    k.ch = Channel::kKiosk;
    k.t = s.t + rng_.Between(1, 10) * kMinuteMs;
    k.n_ids = 0;
    k.ids[k.n_ids++] = {IdKind::kKiosk, 0, static_cast<uint16_t>(population_.KioskOf(p) % st.kiosks)};
    k.ids[k.n_ids++] = {IdKind::kMemberCard, 0, 0};
    DemoEvent e = NewEvent(k, EventType::kView);
    e.item = catalogue_.SampleStoreItem(store, ps.fav_top[0], rng_);
    if (e.item >= 0) Emit(e);
    if (festival >= 0 && rng_.Chance(0.4)) {
      k.campaign = static_cast<int16_t>(festival);
      k.via = Via::kInstore;
      k.t += rng_.Between(10, 60) * kSecondMs;
      DemoEvent c = NewEvent(k, EventType::kCouponRedeem);
      c.props = Props::kCoupon;
      Emit(c);
    }
  }

  int32_t basket[10];
  int n = 0;
  bool bought_target = false;
  if (target >= 0 && catalogue_.SoldInStore(target, store) && rng_.Chance(0.55)) {
    basket[n++] = target;
    bought_target = true;
  }
  int lines = bought_target ? std::min(rng_.Geometric(0.8), 4) : 1 + std::min(rng_.Geometric(1.3), 7);
  if (!bought_target && rng_.Chance(0.22)) lines = 0;  // looked around, bought nothing
  static constexpr int kEverydayTops[] = {1, 2, 7};  // 食品, 美妆, 个护清洁: the weekly shop
  for (int k = 0; k < lines && n < 8; ++k) {
    const double u = rng_.Uniform();
    const int top = u < 0.45 ? ps.fav_top[0] : (u < 0.65 ? ps.fav_top[1] : kEverydayTops[rng_.Below(3)]);
    const int32_t item = catalogue_.SampleStoreItem(store, top, rng_);
    if (item < 0 || std::find(basket, basket + n, item) != basket + n) continue;
    if (!catalogue_.Leaves()[catalogue_.item(item).leaf].repeat && RecentlyBought(ps, item)) continue;
    basket[n++] = item;
  }
  if (n > 0 && rng_.Chance(0.25)) {
    const int32_t partner = catalogue_.item(basket[0]).partner;
    if (partner >= 0 && catalogue_.SoldInStore(partner, store) && std::find(basket, basket + n, partner) == basket + n) {
      basket[n++] = partner;
    }
  }
  if (n == 0) return;
  s.t += dwell_min * kMinuteMs;
  const bool coupon = !s.guest && festival >= 0 && rng_.Chance(0.25);
  if (coupon) {
    s.campaign = static_cast<int16_t>(festival);
    s.via = Via::kInstore;
    DemoEvent e = NewEvent(s, EventType::kCouponRedeem);
    e.props = Props::kCoupon;
    Emit(e);
    s.t += rng_.Between(5, 30) * kSecondMs;
  }
  const int64_t receipt = ++store_orders_[static_cast<size_t>(store)];
  static constexpr uint8_t kStorePayments[] = {0, 1, 4, 5};  // alipay, wechat_pay, cash, bank_card
  const uint8_t payment = kStorePayments[rng_.Below(4)];
  bool any = false;
  for (int k = 0; k < n; ++k) {
    const Item& it = catalogue_.item(basket[k]);
    const Leaf& leaf = catalogue_.Leaves()[it.leaf];
    DemoEvent e = NewEvent(s, EventType::kPurchase);
    e.item = basket[k];
    e.quantity = static_cast<int16_t>(leaf.repeat ? 1 + std::min(rng_.Geometric(0.8), 5) : 1);
    e.price_cents = coupon ? static_cast<int32_t>(std::lround(it.price_cents * 0.9)) : it.price_cents;
    e.order_no = receipt;
    e.props = Props::kPayment;
    e.prop_a = payment;
    e.prop_b = coupon;
    if (!Emit(e, !s.guest)) break;
    any = true;
    if (!leaf.repeat) RememberPurchase(ps, basket[k]);
    if (s.guest) ++counters_.guest_checkouts;
    if (k == 0 && bought_target) ++counters_.o2o_purchases;
    if (rng_.Chance(leaf.refund_rate * 0.5)) ScheduleRefund(e);
  }
  if (any) ++counters_.orders;
}

void Simulator::CallSession(int32_t p, int64_t t) {
  Person& ps = population_.person(p);
  Session s;
  s.p = p;
  s.ch = Channel::kCallcenter;
  s.t = t;
  const bool first = !ps.started;
  ComposeIds(s, first);
  if (s.n_ids == 0) return;
  if (first) Onboard(s);
  DemoEvent e = NewEvent(s, EventType::kInquiry);
  e.props = Props::kInquiry;
  e.prop_a = static_cast<uint8_t>(rng_.Below(5));
  Emit(e);
  if (rng_.Chance(0.25)) {  // a telephone order
    s.t += rng_.Between(2, 10) * kMinuteMs;
    int32_t item = PickItem(ps, -1);
    if (!catalogue_.item(item).sold_online) return;
    Checkout(s, &item, 1);
  }
}

// --- marketing -------------------------------------------------------------

void Simulator::MarketingTouch(int64_t t, int32_t hour) {
  const int local_hour = static_cast<int>((t + kLocalOffsetMs) / kHourMs % 24);
  for (int attempt = 0; attempt < 40; ++attempt) {
    const int32_t p = population_.SamplePerson(rng_);
    const Person& ps = population_.person(p);
    if (!ps.started || hour < ps.active_from_h || hour >= ps.active_until_h) continue;
    // E-mail needs an identifier the e-mail export can connect through.
    const bool email = (ps.has & kSlotEmail) && ps.email_consent &&
                       (ps.linked & (kSlotEmail | kSlotCustomerId | kSlotMemberCard));
    const bool sms = (ps.has & kSlotPhone) && ps.sms_consent && local_hour >= 9 && local_hour < 21;
    const bool social = (ps.has & kSlotSocial) != 0;
    const double w[3] = {email ? 0.45 : 0.0, sms ? 0.25 : 0.0, social ? 0.3 : 0.0};
    if (w[0] + w[1] + w[2] == 0) continue;
    switch (rng_.Pick(w)) {
      case 0: EmailTouch(p, t); break;
      case 1: SmsTouch(p, t); break;
      default: SocialTouch(p, t); break;
    }
    return;
  }
}

void Simulator::FollowUp(int32_t p, int64_t t, int16_t campaign, Via via) {
  const Person& ps = population_.person(p);
  Channel ch = Channel::kWeb;
  if (via == Via::kWechat || (ps.channel_weight[kSessWeb] == 0 && ps.channel_weight[kSessApp] == 0)) {
    ch = Channel::kMiniprogram;
  } else if (ps.channel_weight[kSessApp] > ps.channel_weight[kSessWeb]) {
    ch = Channel::kApp;
  }
  if (ch == Channel::kMiniprogram && !(ps.has & kSlotSocial)) return;
  // The message links to a product of the person's favourite category.
  OnlineSession(p, ch, t, campaign, via, PickItem(ps, -1));
}

void Simulator::EmailTouch(int32_t p, int64_t t) {
  Person& ps = population_.person(p);
  const int64_t day = LocalDay(t);
  const int festival = calendar_.FestivalOn(day);
  Session s;
  s.p = p;
  s.ch = Channel::kEmail;
  s.t = t;
  s.campaign = static_cast<int16_t>(festival >= 0 && rng_.Chance(0.7) ? festival : calendar_.NewsletterOn(day));
  s.via = Via::kEmail;
  ComposeIds(s, false);
  DemoEvent open = NewEvent(s, EventType::kOpen);
  if (!Emit(open)) return;
  if (rng_.Chance(0.006)) {  // unsubscribe link
    s.t += rng_.Between(10, 120) * kSecondMs;
    DemoEvent e = NewEvent(s, EventType::kConsent);
    e.campaign = -1;
    e.props = Props::kConsent;
    e.prop_a = 1;
    e.prop_b = 0;
    if (Emit(e)) ps.email_consent = false;
    return;
  }
  if (!rng_.Chance(0.25)) return;
  s.t += std::max<int64_t>(kSecondMs, static_cast<int64_t>(rng_.Exponential(20.0 * kMinuteMs)));
  DemoEvent click = NewEvent(s, EventType::kClick);
  if (!Emit(click)) return;
  if (rng_.Chance(0.5)) FollowUp(p, s.t + rng_.Between(5, 60) * kSecondMs, s.campaign, Via::kEmail);
}

void Simulator::SmsTouch(int32_t p, int64_t t) {
  Person& ps = population_.person(p);
  const int64_t day = LocalDay(t);
  const int festival = calendar_.FestivalOn(day);
  Session s;
  s.p = p;
  s.ch = Channel::kSms;
  s.t = t;
  s.campaign = static_cast<int16_t>(festival >= 0 ? festival : calendar_.NewsletterOn(day));
  s.via = Via::kSms;
  ComposeIds(s, false);
  if (rng_.Chance(0.008)) {  // replied "TD" (退订) to opt out
    DemoEvent e = NewEvent(s, EventType::kConsent);
    e.campaign = -1;
    e.props = Props::kConsent;
    e.prop_a = 0;
    e.prop_b = 0;
    if (Emit(e)) ps.sms_consent = false;
    return;
  }
  DemoEvent click = NewEvent(s, EventType::kClick);
  if (!Emit(click)) return;
  if (rng_.Chance(0.5)) FollowUp(p, s.t + rng_.Between(5, 60) * kSecondMs, s.campaign, Via::kSms);
}

void Simulator::SocialTouch(int32_t p, int64_t t) {
  const Person& ps = population_.person(p);
  const int64_t day = LocalDay(t);
  const int festival = calendar_.FestivalOn(day);
  const int16_t campaign = static_cast<int16_t>(festival >= 0 ? festival : calendar_.NewsletterOn(day));
  if (!(ps.linked & kSlotSocial)) {
    // The openid is not yet connected: the article opens the mini-program,
    // which asks for the phone number.
    OnlineSession(p, Channel::kMiniprogram, t, campaign, Via::kWechat, -1);
    return;
  }
  Session s;
  s.p = p;
  s.ch = Channel::kSocial;
  s.t = t;
  s.campaign = campaign;
  s.via = Via::kWechat;
  ComposeIds(s, false);
  DemoEvent imp = NewEvent(s, EventType::kImpression);
  if (!Emit(imp)) return;
  if (!rng_.Chance(0.25)) return;
  s.t += rng_.Between(2, 120) * kSecondMs;
  DemoEvent click = NewEvent(s, EventType::kClick);
  if (!Emit(click)) return;
  if (rng_.Chance(0.6)) FollowUp(p, s.t + rng_.Between(2, 20) * kSecondMs, campaign, Via::kWechat);
}

}  // namespace omni::demo
