#include "omni/profile/profile_detail.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace omni::profile {
namespace {

constexpr char kVersion3 = 0x03;

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1); }

int64_t BasisPoints(double share) { return static_cast<int64_t>(std::llround(share * 1e4)); }

// Reals: tag 0 = an integer, 1 = hundredths, 2 = the 8 bytes of the double.
// The first two only when they give back exactly the same double.
constexpr double kExactLimit = 9007199254740992.0;  // 2^53: every integer below is a double

// Writes through a cursor into room sized up front for the worst case
// (EncodeProfileDetail): no capacity check per byte.
struct Writer {
  static constexpr size_t kMaxVarint = 10;
  static constexpr size_t kMaxReal = 9;
  char* p;

  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
  }
  void Signed(int64_t v) { Varint(ZigZag(v)); }
  void Real(double v) {
    if (std::isfinite(v) && std::fabs(v) < kExactLimit / 128 && !(v == 0 && std::signbit(v))) {
      if (v == std::trunc(v)) {
        Varint(ZigZag(static_cast<int64_t>(v)) << 2);
        return;
      }
      const double cents = std::round(v * 100);
      if (std::fabs(cents) < kExactLimit / 128 && cents / 100 == v) {
        Varint((ZigZag(static_cast<int64_t>(cents)) << 2) | 1);
        return;
      }
    }
    *p++ = 2;
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    for (int i = 0; i < 8; ++i) *p++ = static_cast<char>((bits >> (8 * i)) & 0xff);
  }
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail();
      const auto byte = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) return v;
    }
    return Fail();
  }
  int64_t Signed() { return UnZigZag(Varint()); }
  // A count of entries: each takes at least one byte, so a count larger than
  // what is left is corrupt (and must not size a vector).
  size_t Count() {
    const uint64_t n = Varint();
    if (n > static_cast<uint64_t>(end_ - p_)) return static_cast<size_t>(Fail());
    return static_cast<size_t>(n);
  }
  double Real() {
    const uint64_t u = Varint();
    switch (u & 3) {
      case 0:
        return static_cast<double>(UnZigZag(u >> 2));
      case 1:
        return static_cast<double>(UnZigZag(u >> 2)) / 100;
      default: {
        if (u != 2 || end_ - p_ < 8) return static_cast<double>(Fail());
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
        p_ += 8;
        return std::bit_cast<double>(bits);
      }
    }
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace

bool IsBinaryProfileDetail(std::string_view detail) { return !detail.empty() && detail[0] == kVersion3; }

void EncodeProfileDetail(const Profile& p, absl::FunctionRef<int64_t(std::string_view)> name_id, std::string& out) {
  constexpr size_t V = Writer::kMaxVarint, R = Writer::kMaxReal;
  const size_t worst = 1 + V + p.channels.size() * (7 * V + 2 * R) +
                       2 * V + (p.categories.size() + p.brands.size()) * (2 * V + R) + 6 * V +
                       V + p.consent.size() * 2 * V + V + p.recent_event_seqs.size() * V;
  const size_t start = out.size();
  out.resize(start + worst);
  Writer w{out.data() + start};
  *w.p++ = kVersion3;
  w.Varint(p.channels.size());
  for (const ChannelActivity& c : p.channels) {
    // Purchase fields only for channels with purchases or refunds.
    const bool purchases = c.orders > 0 || c.monetary != 0 || c.last_purchase_ms != 0;
    w.Varint((static_cast<uint64_t>(name_id(c.channel)) << 1) | (purchases ? 1 : 0));
    w.Signed(c.events);
    w.Signed(BasisPoints(c.event_share));
    if (purchases) {
      w.Signed(c.orders);
      w.Real(c.monetary);
      w.Signed(c.last_purchase_ms);
      w.Real(c.recency_days);
      w.Signed(BasisPoints(c.order_share));
    }
  }
  for (const std::vector<Affinity>* list : {&p.categories, &p.brands}) {
    w.Varint(list->size());
    for (const Affinity& a : *list) {
      w.Varint(static_cast<uint64_t>(name_id(a.name)));
      w.Real(a.weight);
      w.Signed(BasisPoints(a.share));
    }
  }
  for (int64_t n : p.browse_without_buy) w.Signed(n);
  for (int64_t n : p.cart_abandon) w.Signed(n);
  w.Varint(p.consent.size());
  for (const ConsentState& c : p.consent) {
    w.Varint((static_cast<uint64_t>(name_id(c.channel)) << 1) | (c.granted ? 1 : 0));
    w.Signed(c.ts_ms);
  }
  w.Varint(p.recent_event_seqs.size());
  for (size_t i = 0; i < p.recent_event_seqs.size(); ++i) {
    w.Signed(i == 0 ? p.recent_event_seqs[0] : p.recent_event_seqs[i - 1] - p.recent_event_seqs[i]);
  }
  const auto used = static_cast<size_t>(w.p - out.data());
  OMNI_CHECK(used <= start + worst);
  out.resize(used);
}

Status DecodeProfileDetail(std::string_view detail, std::span<const std::string> names, Profile& p,
                           int64_t* missing_id) {
  if (!IsBinaryProfileDetail(detail)) return InvalidArgument("profile detail is not a version 3 detail");
  Reader in(detail.substr(1));
  int64_t missing = -1;
  auto name = [&](uint64_t id) -> std::string {
    if (id < names.size()) return names[static_cast<size_t>(id)];
    if (missing < 0) missing = static_cast<int64_t>(std::min<uint64_t>(id, std::numeric_limits<int64_t>::max()));
    return std::string();
  };
  p.channels.clear();
  p.categories.clear();
  p.brands.clear();
  p.consent.clear();
  p.recent_event_seqs.clear();

  size_t n = in.Count();
  p.channels.reserve(n);
  for (size_t i = 0; i < n && in.ok(); ++i) {
    ChannelActivity c;
    const uint64_t head = in.Varint();
    c.channel = name(head >> 1);
    c.events = in.Signed();
    c.event_share = static_cast<double>(in.Signed()) / 1e4;
    if (head & 1) {
      c.orders = in.Signed();
      c.monetary = in.Real();
      c.last_purchase_ms = in.Signed();
      c.recency_days = in.Real();
      c.order_share = static_cast<double>(in.Signed()) / 1e4;
    }
    p.channels.push_back(std::move(c));
  }
  for (std::vector<Affinity>* list : {&p.categories, &p.brands}) {
    n = in.Count();
    list->reserve(n);
    for (size_t i = 0; i < n && in.ok(); ++i) {
      Affinity a;
      a.name = name(in.Varint());
      a.weight = in.Real();
      a.share = static_cast<double>(in.Signed()) / 1e4;
      list->push_back(std::move(a));
    }
  }
  for (int64_t& v : p.browse_without_buy) v = in.Signed();
  for (int64_t& v : p.cart_abandon) v = in.Signed();
  n = in.Count();
  p.consent.reserve(n);
  for (size_t i = 0; i < n && in.ok(); ++i) {
    const uint64_t head = in.Varint();
    ConsentState c;
    c.channel = name(head >> 1);
    c.granted = (head & 1) != 0;
    c.ts_ms = in.Signed();
    p.consent.push_back(std::move(c));
  }
  n = in.Count();
  p.recent_event_seqs.reserve(n);
  for (size_t i = 0; i < n && in.ok(); ++i) {
    const int64_t v = in.Signed();
    p.recent_event_seqs.push_back(i == 0 ? v : p.recent_event_seqs.back() - v);
  }
  if (!in.ok() || !in.at_end()) return InvalidArgument("profile detail is truncated or has trailing bytes");
  if (missing >= 0) {
    if (missing_id) *missing_id = missing;
    return NotFound("profile detail names id " + std::to_string(missing) + ", not in profile_names");
  }
  return Status::Ok();
}

}  // namespace omni::profile
