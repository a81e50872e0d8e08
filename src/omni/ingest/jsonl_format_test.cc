#include "omni/ingest/jsonl_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "omni/ingest/pii.h"
#include "simdjson.h"

namespace omni::ingest {
namespace {

IngestConfig TestConfig() {
  IngestConfig config;
  for (size_t i = 0; i < config.pii_key.size(); ++i) config.pii_key[i] = static_cast<unsigned char>(7 * i);
  return config;
}

// DESIGN.md's canonical event.
constexpr std::string_view kCanonical =
    R"({"event_id":"pos-88123-3","ts":"2026-03-01T10:15:02+08:00","channel":"store","type":"purchase",)"
    R"("identities":{"member_card":"M0042","phone":"+86 138 0000 0000"},)"
    R"("item_id":"SKU-991","quantity":2,"price":59.0,"currency":"CNY","order_id":"R-88123","store_id":"SH-07",)"
    R"("campaign_id":"spring-sms","properties":{"coupon":"SPRING10"}})";

class JsonlFormatTest : public ::testing::Test {
 protected:
  JsonlFormatTest() : config_(TestConfig()), format_(MakeJsonlFormat(config_)), pseudonymiser_(config_) {}

  // Parses one line into a fresh batch.
  Batch ParseLine(std::string_view line, int64_t line_no = 1) {
    Batch batch;
    format_->Parse(line, line_no, batch);
    EXPECT_LE(batch.events.size() + batch.rejected.size(), 1u);
    return batch;
  }

  Event Accept(std::string_view line) {
    Batch b = ParseLine(line);
    EXPECT_EQ(b.events.size(), 1u) << line << "\n"
                                   << (b.rejected.empty() ? "" : b.rejected[0].message);
    return b.events.empty() ? Event{} : b.events[0];
  }

  RejectedRecord RejectOf(std::string_view line, int64_t line_no = 1) {
    Batch b = ParseLine(line, line_no);
    EXPECT_EQ(b.rejected.size(), 1u) << "accepted: " << line;
    return b.rejected.empty() ? RejectedRecord{} : b.rejected[0];
  }

  IngestConfig config_;
  std::unique_ptr<Format> format_;
  Pseudonymiser pseudonymiser_;
};

// A valid purchase with some fields replaced, added, or removed (value "").
std::string Record(std::initializer_list<std::pair<std::string_view, std::string_view>> overrides) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"event_id", R"("e1")"},
      {"ts", R"("2026-03-01T10:15:02+08:00")"},
      {"channel", R"("web")"},
      {"type", R"("purchase")"},
      {"identities", R"({"customer_id":"C1"})"},
      {"item_id", R"("SKU-1")"},
      {"quantity", "1"},
      {"price", "9.5"},
  };
  for (const auto& [key, value] : overrides) {
    bool found = false;
    for (auto& [k, v] : fields) {
      if (k == key) v = value, found = true;
    }
    if (!found) fields.emplace_back(std::string(key), std::string(value));
  }
  std::string out = "{";
  for (const auto& [k, v] : fields) {
    if (v.empty()) continue;
    if (out.size() > 1) out += ",";
    out += "\"" + k + "\":" + v;
  }
  return out + "}";
}

std::string With(std::string_view key, std::string_view value) { return Record({{key, value}}); }

TEST_F(JsonlFormatTest, DescribesItself) {
  EXPECT_EQ(format_->name(), "jsonl");
  EXPECT_EQ(format_->framing(), RecordFraming::kLines);
  EXPECT_FALSE(format_->has_header());
}

TEST_F(JsonlFormatTest, AcceptsTheCanonicalEventWithEveryField) {
  Batch b = ParseLine(kCanonical, 42);
  ASSERT_EQ(b.events.size(), 1u) << (b.rejected.empty() ? "" : b.rejected[0].message);
  const Event& e = b.events[0];
  EXPECT_EQ(e.event_id, "pos-88123-3");
  EXPECT_EQ(e.ts_ms, 1772331302000);
  EXPECT_EQ(e.tz_offset_min, 480);
  EXPECT_EQ(e.channel, "store");
  EXPECT_EQ(e.type, "purchase");
  ASSERT_EQ(e.identities.size(), 2u);
  EXPECT_EQ(e.identities[0], (Identity{IdentityType::kMemberCard, "M0042"}));
  EXPECT_EQ(e.identities[1],
            (Identity{IdentityType::kPhone, pseudonymiser_.Hash(IdentityType::kPhone, "+8613800000000")}));
  EXPECT_EQ(e.item_id, "SKU-991");
  EXPECT_EQ(e.quantity, 2.0);
  EXPECT_EQ(e.price, 59.0);
  EXPECT_EQ(e.currency, "CNY");
  EXPECT_EQ(e.order_id, "R-88123");
  EXPECT_EQ(e.store_id, "SH-07");
  EXPECT_EQ(e.campaign_id, "spring-sms");
  EXPECT_EQ(e.properties_json, R"({"coupon":"SPRING10"})");
  EXPECT_EQ(e.line_no, 42);
}

TEST_F(JsonlFormatTest, OptionalFieldsMayBeAbsentOrNull) {
  Event e = Accept(R"({"event_id":"v1","ts":1772331302,"channel":"app","type":"view",)"
                   R"("identities":{"device_id":"d-1"},"item_id":null,"price":null,"properties":null})");
  EXPECT_EQ(e.item_id, "");
  EXPECT_FALSE(e.quantity.has_value());
  EXPECT_FALSE(e.price.has_value());
  EXPECT_EQ(e.properties_json, "");
}

TEST_F(JsonlFormatTest, EpochSecondsAndMillisecondsAsNumbersOrStrings) {
  EXPECT_EQ(Accept(With("ts", "1772331302")).ts_ms, 1772331302000);
  EXPECT_EQ(Accept(With("ts", "1772331302123")).ts_ms, 1772331302123);
  EXPECT_EQ(Accept(With("ts", "1772331302.5")).ts_ms, 1772331302500);
  EXPECT_EQ(Accept(With("ts", R"("1772331302123")")).ts_ms, 1772331302123);
  EXPECT_EQ(Accept(With("ts", R"("2026-03-01T02:15:02.250Z")")).ts_ms, 1772331302250);
}

TEST_F(JsonlFormatTest, NumbersMayBeNumericStrings) {
  Event e = Accept(With("price", R"("59.0")"));
  EXPECT_EQ(e.price, 59.0);
  e = Accept(With("quantity", R"(" 3 ")"));
  EXPECT_EQ(e.quantity, 3.0);
  e = Accept(With("price", R"("")"));  // an empty export column
  EXPECT_FALSE(e.price.has_value());
}

TEST_F(JsonlFormatTest, IdsGivenAsIntegersBecomeText) {
  Event e = Accept(With("item_id", "991"));
  EXPECT_EQ(e.item_id, "991");
  e = Accept(With("identities", R"({"customer_id":12345,"member_card":42.0})"));
  ASSERT_EQ(e.identities.size(), 2u);
  EXPECT_EQ(e.identities[0].value, "12345");
  EXPECT_EQ(e.identities[1].value, "42");
  e = Accept(With("identities", R"({"phone":13800138000})"));
  ASSERT_EQ(e.identities.size(), 1u);
  EXPECT_EQ(e.identities[0].value, pseudonymiser_.Hash(IdentityType::kPhone, "+8613800138000"));
}

TEST_F(JsonlFormatTest, UnknownTopLevelKeysAreIgnored) {
  Event e = Accept(With("schema_version", R"({"future":[1,2,3]})"));
  EXPECT_EQ(e.event_id, "e1");
}

TEST_F(JsonlFormatTest, CustomEventTypesNeedThePrefix) {
  EXPECT_EQ(Accept(With("type", R"("custom:wishlist")")).type, "custom:wishlist");
  EXPECT_EQ(RejectOf(With("type", R"("custom:")")).reason, RejectReason::kUnknownEventType);
}

TEST_F(JsonlFormatTest, ChineseTextSurvivesIntact) {
  Event e = Accept(With("item_id", R"("抹茶拿铁-大杯")"));
  EXPECT_EQ(e.item_id, "抹茶拿铁-大杯");
  e = Accept(With("properties", R"({"title":"绿茶 500ml","分类":"饮料 > 茶"})"));
  EXPECT_EQ(e.properties_json, R"({"title":"绿茶 500ml","分类":"饮料 > 茶"})");
  e = Accept(With("store_id", R"("上海-静安-07")"));
  EXPECT_EQ(e.store_id, "上海-静安-07");
}

TEST_F(JsonlFormatTest, PropertiesAreStoredAsCompactJson) {
  Event e = Accept(With("properties", R"({ "coupon" : "SPRING10", "n" : [ 1, 2 ] , "ok": true })"));
  EXPECT_EQ(e.properties_json, R"({"coupon":"SPRING10","n":[1,2],"ok":true})");
}

TEST_F(JsonlFormatTest, ByteOrderMarkAndCarriageReturnAreTolerated) {
  EXPECT_EQ(Accept("\xEF\xBB\xBF" + With("event_id", R"("bom")")).event_id, "bom");
  EXPECT_EQ(Accept(With("event_id", R"("crlf")") + "\r").event_id, "crlf");
}

TEST_F(JsonlFormatTest, BlankLinesYieldNothing) {
  for (std::string_view line : {"", "   ", "\r", "\t \r"}) {
    Batch b = ParseLine(line);
    EXPECT_TRUE(b.empty()) << "[" << line << "]";
  }
}

TEST_F(JsonlFormatTest, AppendsToTheBatchWithLineNumbers) {
  Batch b;
  format_->Parse(With("event_id", R"("a")"), 1, b);
  format_->Parse("not json", 2, b);
  format_->Parse(With("event_id", R"("b")"), 3, b);
  ASSERT_EQ(b.events.size(), 2u);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.events[0].line_no, 1);
  EXPECT_EQ(b.events[1].line_no, 3);
  EXPECT_EQ(b.rejected[0].line_no, 2);
}

struct RejectCase {
  std::string line;
  RejectReason reason;
  std::string field;
};

TEST_F(JsonlFormatTest, EveryRejectReasonNamesItsField) {
  const std::string consent_base =
      R"({"event_id":"c1","ts":1772331302,"channel":"app","type":"consent","identities":{"customer_id":"C1"})";
  const std::vector<RejectCase> cases = {
      {"not json", RejectReason::kInvalidJson, ""},
      {R"({"event_id":"e1",)", RejectReason::kInvalidJson, ""},
      {R"([1,2,3])", RejectReason::kInvalidJson, ""},
      {R"("just a string")", RejectReason::kInvalidJson, ""},
      {R"({"a":1} {"b":2})", RejectReason::kInvalidJson, ""},
      {With("event_id", R"("e1","event_id":"e2")"), RejectReason::kInvalidJson, "event_id"},
      {"{\"event_id\":\"e\xff\"}", RejectReason::kInvalidUtf8, ""},
      {"\xc3\x28 not json either", RejectReason::kInvalidUtf8, ""},
      {With("event_id", ""), RejectReason::kMissingField, "event_id"},
      {With("event_id", R"("")"), RejectReason::kMissingField, "event_id"},
      {With("event_id", "null"), RejectReason::kMissingField, "event_id"},
      {With("event_id", "17"), RejectReason::kWrongType, "event_id"},
      {With("event_id", "\"" + std::string(257, 'x') + "\""), RejectReason::kWrongType, "event_id"},
      {With("ts", ""), RejectReason::kMissingField, "ts"},
      {With("ts", R"("")"), RejectReason::kMissingField, "ts"},
      {With("ts", R"("2026-02-30T10:00:00Z")"), RejectReason::kBadTimestamp, "ts"},
      {With("ts", R"("2026-03-01 10:15:02")"), RejectReason::kBadTimestamp, "ts"},
      {With("ts", "true"), RejectReason::kBadTimestamp, "ts"},
      {With("ts", "-5"), RejectReason::kBadTimestamp, "ts"},
      {With("channel", ""), RejectReason::kMissingField, "channel"},
      {With("channel", "3"), RejectReason::kWrongType, "channel"},
      {With("channel", R"("tv")"), RejectReason::kUnknownChannel, "channel"},
      {With("type", ""), RejectReason::kMissingField, "type"},
      {With("type", R"("wishlist")"), RejectReason::kUnknownEventType, "type"},
      {With("identities", ""), RejectReason::kMissingField, "identities"},
      {With("identities", R"(["C1"])"), RejectReason::kWrongType, "identities"},
      {With("identities", R"({"nickname":"bob"})"), RejectReason::kInvalidIdentity, "identities"},
      {With("identities", R"({"phone":"123"})"), RejectReason::kInvalidIdentity, "identities.phone"},
      {With("identities", R"({"email":"not-an-email"})"), RejectReason::kInvalidIdentity, "identities.email"},
      {With("identities", R"({"customer_id":"C1","customer_id":"C2"})"), RejectReason::kInvalidIdentity,
       "identities.customer_id"},
      {With("identities", R"({"email":12})"), RejectReason::kWrongType, "identities.email"},
      {With("identities", R"({"customer_id":{"id":1}})"), RejectReason::kWrongType, "identities.customer_id"},
      {With("identities", R"({})"), RejectReason::kMissingIdentities, "identities"},
      {With("identities", R"({"phone":"","email":"  ","customer_id":null})"), RejectReason::kMissingIdentities,
       "identities"},
      {With("item_id", "1.5"), RejectReason::kWrongType, "item_id"},
      {With("item_id", R"({"sku":1})"), RejectReason::kWrongType, "item_id"},
      {With("quantity", R"("two")"), RejectReason::kBadNumber, "quantity"},
      {With("quantity", "true"), RejectReason::kBadNumber, "quantity"},
      {With("price", R"("NaN")"), RejectReason::kBadNumber, "price"},
      {With("price", R"("inf")"), RejectReason::kBadNumber, "price"},
      {With("price", R"("59.0 CNY")"), RejectReason::kBadNumber, "price"},
      {With("price", "[59]"), RejectReason::kBadNumber, "price"},
      {With("quantity", "-1"), RejectReason::kNegativeQuantity, "quantity"},
      {With("price", "-0.01"), RejectReason::kNegativePrice, "price"},
      {With("currency", "156"), RejectReason::kWrongType, "currency"},
      {With("order_id", "[1]"), RejectReason::kWrongType, "order_id"},
      {With("store_id", "false"), RejectReason::kWrongType, "store_id"},
      {With("campaign_id", "{}"), RejectReason::kWrongType, "campaign_id"},
      {With("properties", R"("coupon=SPRING10")"), RejectReason::kWrongType, "properties"},
      {consent_base + "}", RejectReason::kMissingField, "properties.channel"},
      {consent_base + R"(,"properties":{"granted":true}})", RejectReason::kMissingField, "properties.channel"},
      {consent_base + R"(,"properties":{"channel":"sms"}})", RejectReason::kMissingField, "properties.granted"},
      {consent_base + R"(,"properties":{"channel":"sms","granted":"yes"}})", RejectReason::kMissingField,
       "properties.granted"},
      {consent_base + R"(,"properties":{"channel":"fax","granted":true}})", RejectReason::kUnknownChannel,
       "properties.channel"},
  };
  for (const RejectCase& c : cases) {
    const RejectedRecord r = RejectOf(c.line, 7);
    EXPECT_EQ(RejectReasonName(r.reason), RejectReasonName(c.reason)) << c.line << "\n" << r.message;
    EXPECT_EQ(r.field, c.field) << c.line;
    EXPECT_EQ(r.line_no, 7);
    EXPECT_EQ(r.message.rfind("line 7: ", 0), 0u) << r.message;
    if (!c.field.empty()) {
      EXPECT_NE(r.message.find("field " + c.field), std::string::npos) << r.message;
    }
    EXPECT_FALSE(r.raw.empty());
  }
}

TEST_F(JsonlFormatTest, MessagesNameTheOffendingValue) {
  EXPECT_NE(RejectOf(With("channel", R"("tv")")).message.find("\"tv\""), std::string::npos);
  EXPECT_NE(RejectOf(With("type", R"("wishlist")")).message.find("\"wishlist\""), std::string::npos);
  EXPECT_NE(RejectOf(With("ts", R"("2026-02-30T10:00:00Z")")).message.find("2026-02-30"), std::string::npos);
  EXPECT_NE(RejectOf(With("price", R"("abc")")).message.find("\"abc\""), std::string::npos);
}

TEST_F(JsonlFormatTest, ConsentEventsWithChannelAndGrantedAreAccepted) {
  Event e = Accept(R"({"event_id":"c1","ts":1772331302,"channel":"app","type":"consent",)"
                   R"("identities":{"customer_id":"C1"},"properties":{"channel":"sms","granted":false}})");
  EXPECT_EQ(e.type, "consent");
  EXPECT_EQ(e.properties_json, R"({"channel":"sms","granted":false})");
}

TEST_F(JsonlFormatTest, NegativeQuantityIsFineOnARefund) {
  Event e = Accept(Record({{"type", R"("refund")"}, {"quantity", "-1"}}));
  EXPECT_EQ(e.quantity, -1.0);
}

TEST_F(JsonlFormatTest, EveryChinesePhoneFormatYieldsTheSameIdentity) {
  std::string first;
  for (std::string_view phone : {"138 0013 8000", "13800138000", "+86-138-0013-8000", "+86 138 0013 8000",
                                 "0086 138 0013 8000", "(+86) 13800138000"}) {
    Event e = Accept(With("identities", R"({"phone":")" + std::string(phone) + R"("})"));
    ASSERT_EQ(e.identities.size(), 1u);
    if (first.empty()) first = e.identities[0].value;
    EXPECT_EQ(e.identities[0].value, first) << phone;
  }
  EXPECT_EQ(first, pseudonymiser_.Hash(IdentityType::kPhone, "+8613800138000"));
}

TEST_F(JsonlFormatTest, EmailIsCaseInsensitive) {
  Event a = Accept(With("identities", R"({"email":"Li.Wei@QQ.com"})"));
  Event b = Accept(With("identities", R"({"email":" li.wei@qq.COM"})"));
  ASSERT_EQ(a.identities.size(), 1u);
  EXPECT_EQ(a.identities, b.identities);
}

TEST_F(JsonlFormatTest, RawPhoneAndEmailNeverReachEventsOrRejections) {
  const std::string identities = R"({"phone":"+86 138 0013 8000","email":"Li.Wei@qq.com"})";
  auto contains_pii = [](const std::string& s) {
    return s.find("0013") != std::string::npos || s.find("13800138000") != std::string::npos ||
           s.find("qq.com") != std::string::npos || s.find("Li.Wei") != std::string::npos;
  };
  Event e = Accept(With("identities", identities));
  for (const Identity& id : e.identities) EXPECT_FALSE(contains_pii(id.value)) << id.value;

  // Each rejection path, with PII elsewhere in the record.
  for (const std::string& line :
       {Record({{"identities", identities}, {"type", R"("view")"}}).replace(0, 1, R"({"type":"x",)"),
        With("identities", R"({"phone":"+86 138 0013 800","email":"Li.Wei@qq.com"})"),
        With("identities", R"({"email":"Li.Wei@qq","phone":"13800138000"})"),
        With("identities", R"({"13800138000":"x"})"), Record({{"event_id", R"("13800138000")"}, {"channel", R"("tv")"}}),
        With("channel", R"("13800138000")"), With("type", R"("Li.Wei@qq.com")"),
        With("ts", R"("13800138000")"), With("ts", "13800138000"), With("price", R"("138 0013 8000")"),
        With("item_id", R"({"phone":"13800138000"})"),
        With("identities", identities) + ",", "\xff" + With("identities", identities)}) {
    Batch b = ParseLine(line);
    ASSERT_EQ(b.rejected.size(), 1u) << line;
    const RejectedRecord& r = b.rejected[0];
    EXPECT_FALSE(contains_pii(r.message)) << r.message;
    EXPECT_FALSE(contains_pii(r.raw)) << r.raw;
    EXPECT_FALSE(contains_pii(r.field)) << r.field;
  }
}

TEST_F(JsonlFormatTest, OversizedRecordsAreRejectedUnparsedAndRawIsBounded) {
  IngestConfig config = TestConfig();
  config.max_record_bytes = 100;
  auto format = MakeJsonlFormat(config);
  Batch b;
  const std::string line = With("properties", R"({"note":")" + std::string(200, 'x') + "\"}");
  format->Parse(line, 3, b);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].reason, RejectReason::kOversizedRecord);
  EXPECT_EQ(b.rejected[0].field, "");

  // Raw text is cut at 4 KiB on a character boundary and stays valid UTF-8.
  std::string huge = "{\"event_id\":\"";
  while (huge.size() < 10000) huge += "抹茶";
  b = ParseLine(huge);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_LE(b.rejected[0].raw.size(), 4096u);
  EXPECT_GT(b.rejected[0].raw.size(), 4000u);
  EXPECT_TRUE(simdjson::validate_utf8(b.rejected[0].raw.data(), b.rejected[0].raw.size()));
}

TEST_F(JsonlFormatTest, RawOfInvalidUtf8IsMadeValid) {
  RejectedRecord r = RejectOf("{\"item_id\":\"caf\xe9\"}");
  EXPECT_EQ(r.reason, RejectReason::kInvalidUtf8);
  EXPECT_TRUE(simdjson::validate_utf8(r.raw.data(), r.raw.size()));
  EXPECT_NE(r.raw.find("caf\xEF\xBF\xBD"), std::string::npos) << r.raw;
}

}  // namespace
}  // namespace omni::ingest
