#include "omni/demo/event_writer.h"

#include <cstdio>

#include "omni/demo/json_out.h"

namespace omni::demo {
namespace {

constexpr std::string_view kDefectNames[kDefectCount] = {
    "none",          "invalid_json",       "invalid_utf8",     "unknown_channel", "bad_timestamp",
    "missing_identities", "missing_field", "unknown_event_type", "invalid_identity", "wrong_type",
    "negative_quantity",  "bad_number",    "negative_price"};
// Relative frequency of each defect (index as Defect).
constexpr double kDefectWeights[kDefectCount] = {0,    0.20, 0.10, 0.10, 0.14, 0.10, 0.05,
                                                 0.05, 0.05, 0.04, 0.07, 0.07, 0.03};

constexpr std::string_view kSourcePrefix[kChannelCount] = {"web-", "app-", "mp-",  "pos-", "wx-",
                                                           "esp-", "sms-", "kiosk-", "cc-"};
constexpr std::string_view kPayments[] = {"alipay", "wechat_pay", "unionpay", "huabei", "cash", "bank_card"};
constexpr std::string_view kRefundReasons[] = {"尺码不合适", "不想要了", "质量问题", "发错货", "与描述不符",
                                               "七天无理由退货"};
constexpr std::string_view kSignupMethods[] = {"phone", "email", "wechat", "member_desk"};
constexpr std::string_view kInquiryTopics[] = {"物流查询", "退换货", "会员积分", "发票", "商品咨询"};
constexpr std::string_view kVia[] = {"email", "sms", "wechat", "push", "instore"};
// "连衣裙" and "服饰" in GBK: what a legacy system writes into a UTF-8 feed.
constexpr std::string_view kGbkQuery = "\xC1\xAC\xD2\xC2\xC8\xB9 \xB7\xFE\xCA\xCE";

bool PurchaseOnly(Defect d) {
  return d == Defect::kNegativeQuantity || d == Defect::kBadNumber || d == Defect::kNegativePrice;
}

}  // namespace

std::string_view DefectName(Defect d) { return kDefectNames[static_cast<int>(d)]; }

EventWriter::EventWriter(const Population& population, const Catalogue& catalogue,
                         const CampaignCalendar& calendar, double malformed_rate, double duplicate_rate,
                         uint64_t seed, OutputFile& out)
    : population_(population),
      catalogue_(catalogue),
      calendar_(calendar),
      malformed_rate_(malformed_rate),
      duplicate_rate_(duplicate_rate),
      noise_(HashOf(seed, 0x4e4f495345)),
      out_(out),
      next_pos_id_(catalogue.stores().size(), 0),
      next_kiosk_id_(catalogue.stores().size(), 0) {
  for (const Store& s : catalogue.stores()) {
    std::string code;
    for (char c : s.id) {
      if (c != '-') code.push_back(c);
    }
    store_codes_.push_back(code);
  }
  line_.reserve(1024);
}

void EventWriter::AppendEventId(const DemoEvent& e, std::string& out) {
  const int ch = static_cast<int>(e.channel);
  out += kSourcePrefix[ch];
  int64_t n;
  if ((e.channel == Channel::kStore || e.channel == Channel::kKiosk) && e.store >= 0) {
    out += catalogue_.stores()[static_cast<size_t>(e.store)].id;
    out += '-';
    auto& counters = e.channel == Channel::kStore ? next_pos_id_ : next_kiosk_id_;
    n = ++counters[static_cast<size_t>(e.store)];
  } else {
    n = ++next_id_[static_cast<size_t>(ch)];
  }
  AppendInt(out, n);
}

std::string_view EventWriter::IdentityKey(const DemoEvent& e, const IdRef& r) const {
  switch (r.kind) {
    case IdKind::kCustomerId: return "customer_id";
    case IdKind::kMemberCard: return "member_card";
    case IdKind::kPhone:
    case IdKind::kGuestPhone: return "phone";
    case IdKind::kEmail: return "email";
    case IdKind::kSocialId: return "social_id";
    case IdKind::kDevice:
    case IdKind::kKiosk: return "device_id";
    case IdKind::kCookie: return "cookie_id";
    case IdKind::kShared:
      return population_.HouseholdKind(population_.person(e.person).household) == SharedKind::kTablet
                 ? "device_id"
                 : "cookie_id";
  }
  return "";
}

void EventWriter::AppendIdentityValue(const DemoEvent& e, const IdRef& r, std::string& out) const {
  switch (r.kind) {
    case IdKind::kCustomerId: population_.AppendCustomerId(out, e.person); break;
    case IdKind::kMemberCard: population_.AppendMemberCard(out, e.person); break;
    case IdKind::kPhone: population_.AppendPhone(out, e.person, r.variant); break;
    case IdKind::kGuestPhone: population_.AppendGuestPhone(out, e.person, r.variant); break;
    case IdKind::kEmail: population_.AppendEmail(out, e.person, r.variant); break;
    case IdKind::kSocialId: population_.AppendSocialId(out, e.person); break;
    case IdKind::kDevice: population_.AppendDeviceId(out, e.person, r.sub); break;
    case IdKind::kCookie: population_.AppendCookieId(out, e.person, r.sub); break;
    case IdKind::kShared: population_.AppendSharedId(out, population_.person(e.person).household); break;
    case IdKind::kKiosk:
      Population::AppendKioskId(out, catalogue_.stores()[static_cast<size_t>(e.store)], r.sub);
      break;
  }
}

void EventWriter::AppendIdentities(const DemoEvent& e, std::string& out) const {
  out += '{';
  for (int i = 0; i < e.n_ids; ++i) {
    if (i > 0) out += ',';
    // Identifier values are ASCII without quotes or backslashes: no escaping.
    out += '"';
    out += IdentityKey(e, e.ids[i]);
    out += "\":\"";
    AppendIdentityValue(e, e.ids[i], out);
    out += '"';
  }
  out += '}';
}

void EventWriter::AppendOrderId(const DemoEvent& e, std::string& out) {
  auto padded = [&](int64_t v, int width) {
    char buf[24];
    int n = 0;
    do {
      buf[23 - n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0 && n < 24);
    while (n < width) buf[23 - n++] = '0';
    out.append(buf + 24 - n, static_cast<size_t>(n));
  };
  if (e.channel == Channel::kStore && e.store >= 0) {
    out += "R-";
    out += store_codes_[static_cast<size_t>(e.store)];
    out += '-';
    padded(e.order_no, 6);
  } else {
    out += 'O';
    padded(e.order_no, 10);
  }
}

void EventWriter::AppendCampaignId(const DemoEvent& e, std::string& out) {
  out += calendar_.campaigns()[static_cast<size_t>(e.campaign)].id;
  out += '-';
  out += kVia[static_cast<int>(e.via)];
}

void EventWriter::AppendProperties(const DemoEvent& e, std::string& out) {
  out += ",\"properties\":{";
  switch (e.props) {
    case Props::kSearch:
      out += "\"query\":";
      AppendJsonString(out, Catalogue::Leaves()[e.prop_a].queries[e.prop_b]);
      break;
    case Props::kConsent:
      out += e.prop_a == 0 ? "\"channel\":\"sms\"" : "\"channel\":\"email\"";
      out += e.prop_b ? ",\"granted\":true" : ",\"granted\":false";
      break;
    case Props::kPayment:
      out += "\"payment\":\"";
      out += kPayments[e.prop_a];
      out += '"';
      if (e.prop_b && e.campaign >= 0) {
        out += ",\"coupon\":";
        AppendJsonString(out, calendar_.campaigns()[static_cast<size_t>(e.campaign)].coupon);
      }
      break;
    case Props::kStoreVisit:
      out += "\"dwell_min\":";
      AppendInt(out, e.prop_a);
      break;
    case Props::kRefund:
      out += "\"reason\":";
      AppendJsonString(out, kRefundReasons[e.prop_a]);
      break;
    case Props::kSignup:
      out += "\"method\":\"";
      out += kSignupMethods[e.prop_a];
      out += '"';
      break;
    case Props::kInquiry:
      out += "\"topic\":";
      AppendJsonString(out, kInquiryTopics[e.prop_a]);
      break;
    case Props::kCoupon:
      out += "\"coupon\":";
      AppendJsonString(out, e.campaign >= 0 ? calendar_.campaigns()[static_cast<size_t>(e.campaign)].coupon : "");
      break;
    case Props::kNone:
      break;
  }
  out += '}';
}

void EventWriter::Serialize(const DemoEvent& e, Defect defect, std::string& out) {
  out += "{\"event_id\":\"";
  AppendEventId(e, out);
  out += "\",\"ts\":";
  if (defect == Defect::kBadTimestamp) {
    const CivilDate c = CivilFromDays(LocalDay(e.ts_ms));
    char buf[48];
    switch (noise_.Below(4)) {
      case 0: std::snprintf(buf, sizeof buf, "%04d-02-30T10:15:02+08:00", c.year); break;
      case 1: std::snprintf(buf, sizeof buf, "%02d/%02d/%04d %02d:15", c.day, c.month, c.year, 10); break;
      case 2: std::snprintf(buf, sizeof buf, "%04d-13-%02dT08:00:00+08:00", c.year, c.day); break;
      default: std::snprintf(buf, sizeof buf, "yesterday 10:15"); break;
    }
    AppendJsonString(out, buf);
  } else if (e.epoch_ts) {
    AppendInt(out, e.ts_ms);
  } else {
    out += '"';
    ts_.Append(out, e.ts_ms, e.with_ms);
    out += '"';
  }
  out += ",\"channel\":\"";
  if (defect == Defect::kUnknownChannel) {
    out += noise_.Chance(0.5) ? "douyin" : "tmall";
  } else {
    out += ChannelName(e.channel);
  }
  out += '"';
  if (defect != Defect::kMissingField) {
    out += ",\"type\":\"";
    out += defect == Defect::kUnknownEventType ? "wishlist" : EventTypeName(e.type);
    out += '"';
  }
  out += ",\"identities\":";
  if (defect == Defect::kMissingIdentities) {
    out += "{}";
  } else if (defect == Defect::kWrongType) {
    // The identifier as a bare string instead of an object.
    out += '"';
    AppendIdentityValue(e, e.ids[0], out);
    out += '"';
  } else if (defect == Defect::kInvalidIdentity) {
    std::string email;
    population_.AppendEmail(email, e.person, 0);
    email.replace(email.find('@'), 1, " at ");
    out += "{\"email\":";
    AppendJsonString(out, email);
    out += '}';
  } else {
    AppendIdentities(e, out);
  }
  if (e.item >= 0) {
    out += ",\"item_id\":\"";
    catalogue_.AppendItemId(out, e.item);
    out += '"';
  }
  if (e.quantity != 0) {
    out += ",\"quantity\":";
    AppendInt(out, defect == Defect::kNegativeQuantity ? -e.quantity : e.quantity);
  }
  if (e.price_cents != 0) {
    out += ",\"price\":";
    if (defect == Defect::kBadNumber) {
      out += "\"abc\"";
    } else {
      AppendCents(out, defect == Defect::kNegativePrice ? -e.price_cents : e.price_cents);
    }
    out += ",\"currency\":\"CNY\"";
  }
  if (e.order_no >= 0) {
    out += ",\"order_id\":\"";
    AppendOrderId(e, out);
    out += '"';
  }
  if (e.store >= 0) {
    out += ",\"store_id\":\"";
    out += catalogue_.stores()[static_cast<size_t>(e.store)].id;
    out += '"';
  }
  if (e.campaign >= 0) {
    out += ",\"campaign_id\":\"";
    AppendCampaignId(e, out);
    out += '"';
  }
  if (defect == Defect::kInvalidUtf8) {
    out += ",\"properties\":{\"query\":\"";
    out += kGbkQuery;
    out += "\"}";
  } else if (e.props != Props::kNone) {
    AppendProperties(e, out);
  }
  out += '}';
}

Status EventWriter::WriteLine(std::string_view line) {
  std::string& b = out_.buf();
  b.append(line);
  b.push_back('\n');
  ++lines_;
  return out_.MaybeFlush();
}

Defect EventWriter::DrawDefect() { return static_cast<Defect>(noise_.Pick(kDefectWeights)); }

Status EventWriter::WriteMalformed(const DemoEvent& e, Defect d) {
  line_.clear();
  Serialize(e, d == Defect::kInvalidJson ? Defect::kNone : d, line_);
  if (d == Defect::kInvalidJson) {
    // Cut the line short, at a character boundary so only the JSON is broken.
    size_t cut = line_.size() / 3 + noise_.Below(line_.size() / 2);
    while (cut > 1 && (static_cast<unsigned char>(line_[cut]) & 0xC0) == 0x80) --cut;
    line_.resize(cut);
  }
  ++malformed_;
  ++defects_[static_cast<size_t>(d)];
  return WriteLine(line_);
}

Status EventWriter::DrainDuplicates(bool all) {
  while (!duplicates_queue_.empty() && (all || duplicates_queue_.top().due_line <= lines_)) {
    // priority_queue::top is const: copy the line out before popping.
    const std::string line = duplicates_queue_.top().line;
    duplicates_queue_.pop();
    ++duplicates_;
    OMNI_RETURN_IF_ERROR(WriteLine(line));
  }
  return Status::Ok();
}

Status EventWriter::Write(const DemoEvent& e) {
  if (malformed_rate_ > 0 && noise_.Chance(malformed_rate_)) {
    const Defect d = DrawDefect();
    if (!PurchaseOnly(d)) {
      OMNI_RETURN_IF_ERROR(WriteMalformed(e, d));
    } else if (pending_purchase_defects_.size() < 1000) {
      pending_purchase_defects_.push_back(d);  // planted on the next purchase
    }
  }
  if (e.type == EventType::kPurchase && !pending_purchase_defects_.empty()) {
    const Defect d = pending_purchase_defects_.back();
    pending_purchase_defects_.pop_back();
    OMNI_RETURN_IF_ERROR(WriteMalformed(e, d));
  }
  line_.clear();
  Serialize(e, Defect::kNone, line_);
  ++events_;
  ++by_type_[static_cast<size_t>(e.type)];
  ++by_channel_[static_cast<size_t>(e.channel)];
  OMNI_RETURN_IF_ERROR(WriteLine(line_));
  if (duplicate_rate_ > 0 && noise_.Chance(duplicate_rate_)) {
    // A retry right away, a re-delivery within minutes, or a replayed batch much later.
    const double u = noise_.Uniform();
    const int64_t delay = u < 0.35 ? 0 : (u < 0.75 ? noise_.Between(1, 2000) : noise_.Between(2000, 200000));
    duplicates_queue_.push({lines_ + delay, dup_seq_++, line_});
  }
  return DrainDuplicates(false);
}

Status EventWriter::Finish() { return DrainDuplicates(true); }

}  // namespace omni::demo
