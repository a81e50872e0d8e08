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

TEST(BatchTest, NewEventReusesAWrittenBatchsEventsCleared) {
  Batch old;
  Event& e = old.events.emplace_back();
  e.event_id = "a-rather-long-event-id-0001";
  e.ts_ms = 42;
  e.tz_offset_min = 480;
  e.channel = "miniprogram";
  e.type = "purchase";
  e.identities = {{IdentityType::kPhone, "5f0c3b1e9a7d4c2b8e6f1a0d9c8b7a65"}, {IdentityType::kMemberCard, "M1"}};
  e.item_id = "SKU-1";
  e.quantity = 2;
  e.price = 9.5;
  e.currency = "CNY";
  e.order_id = "O1";
  e.store_id = "SH-01";
  e.campaign_id = "spring";
  e.properties_json = R"({"payment":"wechat_pay"})";
  e.line_no = 7;
  const char* id_buffer = e.event_id.data();

  Batch next;
  next.spare_events = std::move(old.events);
  Event& reused = next.NewEvent();
  EXPECT_EQ(reused.event_id.data(), id_buffer);  // the buffer came along
  EXPECT_TRUE(reused.event_id.empty());
  EXPECT_EQ(reused.ts_ms, 0);
  EXPECT_EQ(reused.tz_offset_min, 0);
  EXPECT_TRUE(reused.channel.empty() && reused.type.empty() && reused.item_id.empty());
  EXPECT_TRUE(reused.identities.empty());
  EXPECT_FALSE(reused.quantity.has_value());
  EXPECT_FALSE(reused.price.has_value());
  EXPECT_TRUE(reused.currency.empty() && reused.order_id.empty() && reused.store_id.empty());
  EXPECT_TRUE(reused.campaign_id.empty() && reused.properties_json.empty());
  EXPECT_EQ(reused.line_no, 0);
  EXPECT_TRUE(next.spare_events.empty());
  EXPECT_EQ(next.spare_identities.size(), 2u);

  Identity& id = next.NewIdentity(reused);
  EXPECT_TRUE(id.value.empty());
  EXPECT_EQ(reused.identities.size(), 1u);
  EXPECT_EQ(next.spare_identities.size(), 1u);
  // Without spares, plain new ones.
  Event& fresh = next.NewEvent();
  EXPECT_TRUE(fresh.event_id.empty());
  EXPECT_EQ(next.events.size(), 2u);
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
      const auto local = static_cast<size_t>(c.identities[k]);
      ids.push_back({static_cast<IdentityType>(c.identity_type[local]), std::string(c.String(c.identity_value[local]))});
    }
    EXPECT_EQ(ids, e.identities);
  }
  // Each distinct string once: identities by (type, value), so "ck0" as a
  // cookie and as a member card are two.
  EXPECT_EQ(c.identity_type.size(), 7u + 7u);
}

}  // namespace
}  // namespace omni::ingest
