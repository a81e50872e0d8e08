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

void PutVarint(std::string& out, uint64_t v) {
  char bytes[10];
  size_t n = 0;
  while (v >= 0x80) {
    bytes[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  bytes[n++] = static_cast<char>(v);
  out.append(bytes, n);
}

void PutSigned(std::string& out, int64_t v) { PutVarint(out, ZigZag(v)); }

// Reals: tag 0 = an integer, 1 = hundredths, 2 = the 8 bytes of the double.
// The first two only when they give back exactly the same double.
constexpr double kExactLimit = 9007199254740992.0;  // 2^53: every integer below is a double

void PutReal(std::string& out, double v) {
  if (std::isfinite(v) && std::fabs(v) < kExactLimit / 128 && !(v == 0 && std::signbit(v))) {
    if (v == std::trunc(v)) {
      PutVarint(out, ZigZag(static_cast<int64_t>(v)) << 2);
      return;
    }
    const double cents = std::round(v * 100);
    if (std::fabs(cents) < kExactLimit / 128 && cents / 100 == v) {
      PutVarint(out, (ZigZag(static_cast<int64_t>(cents)) << 2) | 1);
      return;
    }
  }
  PutVarint(out, 2);
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

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
  // Room for the usual detail up front: one allocation per profile.
  out.reserve(out.size() + 32 + 24 * (p.channels.size() + p.categories.size() + p.brands.size()) +
              12 * p.consent.size() + 4 * p.recent_event_seqs.size());
  out.push_back(kVersion3);
  PutVarint(out, p.channels.size());
  for (const ChannelActivity& c : p.channels) {
    // Purchase fields only for channels with purchases or refunds.
    const bool purchases = c.orders > 0 || c.monetary != 0 || c.last_purchase_ms != 0;
    PutVarint(out, (static_cast<uint64_t>(name_id(c.channel)) << 1) | (purchases ? 1 : 0));
    PutSigned(out, c.events);
    PutSigned(out, BasisPoints(c.event_share));
    if (purchases) {
      PutSigned(out, c.orders);
      PutReal(out, c.monetary);
      PutSigned(out, c.last_purchase_ms);
      PutReal(out, c.recency_days);
      PutSigned(out, BasisPoints(c.order_share));
    }
  }
  for (const std::vector<Affinity>* list : {&p.categories, &p.brands}) {
    PutVarint(out, list->size());
    for (const Affinity& a : *list) {
      PutVarint(out, static_cast<uint64_t>(name_id(a.name)));
      PutReal(out, a.weight);
      PutSigned(out, BasisPoints(a.share));
    }
  }
  for (int64_t n : p.browse_without_buy) PutSigned(out, n);
  for (int64_t n : p.cart_abandon) PutSigned(out, n);
  PutVarint(out, p.consent.size());
  for (const ConsentState& c : p.consent) {
    PutVarint(out, (static_cast<uint64_t>(name_id(c.channel)) << 1) | (c.granted ? 1 : 0));
    PutSigned(out, c.ts_ms);
  }
  PutVarint(out, p.recent_event_seqs.size());
  for (size_t i = 0; i < p.recent_event_seqs.size(); ++i) {
    PutSigned(out, i == 0 ? p.recent_event_seqs[0] : p.recent_event_seqs[i - 1] - p.recent_event_seqs[i]);
  }
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
