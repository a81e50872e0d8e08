#include "omni/ingest/event.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "omni/common/json_escape.h"

namespace omni::ingest {
namespace {

// The identities column as the generic escaper writes it.
std::string Reference(const std::vector<Identity>& identities) {
  std::string out = "{";
  for (size_t i = 0; i < identities.size(); ++i) {
    if (i > 0) out += ",";
    out += "\"" + std::string(IdentityTypeName(identities[i].type)) + "\":";
    AppendJsonString(out, identities[i].value);
  }
  return out + "}";
}

// Stored keys (events.event_key) must never drift: golden values from an
// independent SipHash-2-4 (tests/reference/event_key_reference.py).
TEST(EventKeyTest, IsSipHash24UnderTheFixedKey) {
  const std::pair<std::string, int64_t> golden[] = {
      {"", 2247082973892616909LL},
      {"web-1", -3350167247937074849LL},
      {"online-retail:536365:85123A:0123456789abcdef", 8796318523445329135LL},
      {"订单-42", -6572030918608085755LL},
  };
  for (const auto& [id, key] : golden) EXPECT_EQ(EventKey(id), key) << id;
}

TEST(AppendIdentitiesJsonTest, WritesWhatTheJsonEscaperWrites) {
  // Characters that must be escaped at every position of values around the
  // 8-byte steps of the fast check, and values that need none.
  std::vector<std::string> values = {"", "C593062883", "5f0c3b1e9a7d4c2b8e6f1a0d9c8b7a65",
                                     "d6d904cf-6f01-48d3-8626-25fae484298c", "会员-张伟", "~\x7f"};
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (size_t length = 1; length <= 19; ++length) {
      for (size_t at = 0; at < length; ++at) {
        std::string v(length, 'a');
        v[at] = special;
        values.push_back(v);
      }
    }
  }
  for (const std::string& v : values) {
    const std::vector<Identity> ids = {{IdentityType::kCookieId, v}, {IdentityType::kPhone, "+8613800138000"}};
    std::string out;
    AppendIdentitiesJson(out, ids);
    EXPECT_EQ(out, Reference(ids)) << v;
  }
  std::string out;
  AppendIdentitiesJson(out, {});
  EXPECT_EQ(out, "{}");
}

TEST(BatchTest, PrepareForStoreEncodesTheSnapshotColumns) {
  Batch batch;
  for (int n = 0; n < 50; ++n) {
    Event& e = batch.events.emplace_back();
    e.event_id = "e" + std::to_string(n);
    e.ts_ms = 1000 + n;
    e.tz_offset_min = n % 2 == 0 ? 480 : -40000;  // the second is clamped
    e.channel = n % 3 == 0 ? "web" : "store";
    e.type = n % 5 == 0 ? "consent" : "view";
    e.identities = {{IdentityType::kCookieId, "ck" + std::to_string(n % 7)}};
    if (n % 4 == 0) e.identities.push_back({IdentityType::kMemberCard, "ck" + std::to_string(n % 7)});
    if (n % 3 != 0) e.item_id = "web";  // the same text as a channel: another column
    if (n % 2 == 0) e.quantity = n;
    if (n % 6 == 0) e.order_id = "o" + std::to_string(n / 12);
    e.properties_json = R"({"channel":"sms","granted":true})";
  }
  batch.PrepareForStore();
  ASSERT_TRUE(batch.prepared());
  const BatchColumns& c = batch.columns;
  ASSERT_EQ(c.size(), batch.events.size());
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const Event& e = batch.events[i];
    EXPECT_EQ(c.ts_ms[i], e.ts_ms);
    EXPECT_EQ(c.tz_offset_min[i], e.tz_offset_min == 480 ? 480 : -32768);
    EXPECT_EQ(c.String(c.channel[i]), e.channel);
    EXPECT_EQ(c.String(c.type[i]), e.type);
    EXPECT_EQ(c.item[i] < 0 ? "" : c.String(c.item[i]), e.item_id);
    EXPECT_EQ(c.order[i] < 0 ? "" : c.String(c.order[i]), e.order_id);
    EXPECT_EQ(std::isnan(c.quantity[i]), !e.quantity.has_value());
    if (e.quantity) {
      EXPECT_EQ(c.quantity[i], *e.quantity);
    }
    EXPECT_TRUE(std::isnan(c.price[i]));
    // Properties are kept for consent events only.
    EXPECT_EQ(c.properties[i] < 0 ? "" : c.String(c.properties[i]), e.type == "consent" ? e.properties_json : "");
    std::vector<Identity> ids;
    for (uint32_t k = i == 0 ? 0 : c.identity_end[i - 1]; k < c.identity_end[i]; ++k) {
      ids.push_back({static_cast<IdentityType>(c.identity_type[k]), std::string(c.String(c.identity_value[k]))});
    }
    EXPECT_EQ(ids, e.identities);
  }
}

// The import prepares event by event, with one preparer for every batch;
// the result must be what preparing the full batch at once gives.
TEST(BatchPreparerTest, EventByEventEqualsAllAtOnce) {
  BatchPreparer preparer;
  for (int round = 0; round < 2; ++round) {
    Batch incremental;  // no reserve: the events move as the vector grows
    for (int n = 0; n < 300; ++n) {
      Event& e = incremental.events.emplace_back();
      e.event_id = "e" + std::to_string(round) + "-" + std::to_string(n);
      e.channel = n % 7 == 0 ? "web" : "a-channel-name-longer-than-sso";
      e.type = n % 3 == 0 ? "consent" : "view";
      e.identities = {{IdentityType::kCookieId, "cookie-value-longer-than-sso-" + std::to_string(n % 13)},
                      {IdentityType::kEmail, std::to_string(n % 5)}};
      e.item_id = "item-" + std::to_string(n % 11);
      e.properties_json = "{\"n\":" + std::to_string(n % 4) + "}";
      preparer.Update(incremental);
    }
    Batch whole = incremental;
    whole.PrepareForStore();
    ASSERT_TRUE(incremental.prepared());
    EXPECT_EQ(incremental.event_keys, whole.event_keys);
    EXPECT_EQ(incremental.identities_json, whole.identities_json);
    EXPECT_EQ(incremental.identities_json_end, whole.identities_json_end);
    const BatchColumns& a = incremental.columns;
    const BatchColumns& b = whole.columns;
    EXPECT_EQ(a.channel, b.channel);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.item, b.item);
    EXPECT_EQ(a.properties, b.properties);
    EXPECT_EQ(a.identity_end, b.identity_end);
    EXPECT_EQ(a.identity_type, b.identity_type);
    EXPECT_EQ(a.identity_value, b.identity_value);
    EXPECT_EQ(a.chars, b.chars);
    EXPECT_EQ(a.ends, b.ends);
  }
}

}  // namespace
}  // namespace omni::ingest
