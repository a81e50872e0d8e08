#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "omni/ingest/format.h"
#include "omni/ingest/pii.h"

namespace omni::ingest {
namespace {

constexpr std::string_view kSpec =
    "csv:event_id=Receipt Line,ts=Sold At,channel=const:store,type=const:purchase,member_card=Card,"
    "phone=Mobile,item_id=SKU,quantity=Qty,price=Unit Price,currency=const:CNY,store_id=Shop,tz=+08:00";
constexpr std::string_view kHeader = "Receipt Line,Sold At,Card,Mobile,SKU,Qty,Unit Price,Shop";

std::unique_ptr<Format> Make(std::string_view spec, const IngestConfig& config = {}) {
  auto f = MakeFormat(spec, config);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? std::move(f).value() : nullptr;
}

// Parses `records` (after the header) and returns the batch.
Batch ParseAll(Format& format, std::string_view header, const std::vector<std::string>& records) {
  if (format.has_header()) {
    Status st = format.Header(header);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  Batch batch;
  int64_t line = format.has_header() ? 1 : 0;
  for (const auto& r : records) format.Parse(r, ++line, batch);
  return batch;
}

TEST(GenericCsvFormatTest, MapsColumnsAndConstants) {
  auto format = Make(kSpec);
  ASSERT_TRUE(format);
  EXPECT_EQ(format->name(), "csv");
  EXPECT_TRUE(format->has_header());
  EXPECT_EQ(format->framing(), RecordFraming::kCsvQuoted);
  Batch b = ParseAll(*format, kHeader, {"R1-1,2026-03-01 10:15:02,M0042,138 0013 8000,SKU-991,2,59.0,SH-07"});
  ASSERT_EQ(b.rejected.size(), 0u) << b.rejected[0].message;
  ASSERT_EQ(b.events.size(), 1u);
  const Event& e = b.events[0];
  EXPECT_EQ(e.event_id, "R1-1");
  EXPECT_EQ(e.ts_ms, 1772331302000);  // 2026-03-01T02:15:02Z
  EXPECT_EQ(e.tz_offset_min, 480);
  EXPECT_EQ(e.channel, "store");
  EXPECT_EQ(e.type, "purchase");
  EXPECT_EQ(e.item_id, "SKU-991");
  EXPECT_EQ(e.quantity, 2.0);
  EXPECT_EQ(e.price, 59.0);
  EXPECT_EQ(e.currency, "CNY");
  EXPECT_EQ(e.store_id, "SH-07");
  EXPECT_EQ(e.line_no, 2);

  // Identities are normalised and hashed exactly as the Pseudonymiser does it.
  IngestConfig config;
  Pseudonymiser p(config);
  ASSERT_EQ(e.identities.size(), 2u);
  EXPECT_EQ(e.identities[0].type, IdentityType::kMemberCard);
  EXPECT_EQ(e.identities[0].value, "M0042");
  EXPECT_EQ(e.identities[1].type, IdentityType::kPhone);
  EXPECT_EQ(e.identities[1].value, p.Normalise(IdentityType::kPhone, "+86 138 0013 8000").value());
  EXPECT_EQ(e.identities[1].value.find("13800138000"), std::string::npos);
}

TEST(GenericCsvFormatTest, TimestampWithOffsetWinsOverTz) {
  auto format = Make(kSpec);
  Batch b = ParseAll(*format, kHeader, {"R1,2026-03-01T02:15:02Z,M1,,S,1,1,X"});
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].ts_ms, 1772331302000);
  EXPECT_EQ(b.events[0].tz_offset_min, 0);
}

TEST(GenericCsvFormatTest, QuotedValuesAndChinese) {
  auto format = Make("csv:event_id=id,ts=ts,channel=ch,type=t,customer_id=c,store_id=store");
  Batch b = ParseAll(*format, "id,ts,ch,t,c,store",
                     {R"("a,1",2026-03-01T10:00:00+08:00,web,view,"C ""7""","上海, 静安店")"});
  ASSERT_EQ(b.events.size(), 1u) << (b.rejected.empty() ? "" : b.rejected[0].message);
  EXPECT_EQ(b.events[0].event_id, "a,1");
  EXPECT_EQ(b.events[0].identities[0].value, "C \"7\"");
  EXPECT_EQ(b.events[0].store_id, "上海, 静安店");
}

TEST(GenericCsvFormatTest, DerivedEventIdIsDeterministic) {
  auto format = Make("csv:ts=ts,channel=const:web,type=const:view,cookie_id=cookie,item_id=item");
  Batch b = ParseAll(*format, "ts,cookie,item",
                     {"2026-03-01T10:00:00Z,c1,i1", "2026-03-01T10:00:00Z,c1,i1", "2026-03-01T10:00:00Z,c1,i2",
                      "2026-03-01T10:00:00Z,c1,i1\r"});
  ASSERT_EQ(b.events.size(), 4u);
  const std::string& id = b.events[0].event_id;
  EXPECT_EQ(id.size(), 4u + 16u);
  EXPECT_EQ(id.substr(0, 4), "csv:");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_EQ(b.events[1].event_id, id);  // a duplicated row is a duplicate event
  EXPECT_NE(b.events[2].event_id, id);
  EXPECT_EQ(b.events[3].event_id, id);  // CRLF does not change the id

  // A fresh format (a re-import) derives the same ids.
  auto again = Make("csv:ts=ts,channel=const:web,type=const:view,cookie_id=cookie,item_id=item");
  Batch b2 = ParseAll(*again, "ts,cookie,item", {"2026-03-01T10:00:00Z,c1,i1"});
  EXPECT_EQ(b2.events[0].event_id, id);
}

TEST(GenericCsvFormatTest, HeaderMissingColumnFailsNamingIt) {
  auto format = Make(kSpec);
  Status st = format->Header("Receipt Line,Sold At,Card,Phone,SKU,Qty,Unit Price,Shop");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'Mobile'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("Phone"), std::string::npos) << st.message();  // lists what exists
}

TEST(GenericCsvFormatTest, HeaderWithByteOrderMark) {
  auto format = Make("csv:ts=ts,channel=const:web,type=const:view,cookie_id=c");
  EXPECT_TRUE(format->Header("\xEF\xBB\xBFts,c").ok());
}

TEST(GenericCsvFormatTest, SpecErrors) {
  IngestConfig config;
  struct Case {
    std::string spec;
    std::string must_mention;
  };
  for (const Case& c : std::vector<Case>{
           {"csv:ts=a,channel=const:web,type=const:view,cookie_id=c,colour=x", "colour"},
           {"csv:channel=const:web,type=const:view,cookie_id=c", "ts"},
           {"csv:ts=a,type=const:view,cookie_id=c", "channel"},
           {"csv:ts=a,channel=const:web,type=const:view", "identity"},
           {"csv:ts=a,channel=const:moon,type=const:view,cookie_id=c", "moon"},
           {"csv:ts=a,channel=const:web,type=const:dance,cookie_id=c", "dance"},
           {"csv:ts=a,channel=const:web,type=const:view,cookie_id=c,delimiter=|", "delimiter"},
           {"csv:ts=a,channel=const:web,type=const:view,cookie_id=c,tz=8", "tz"},
           {"csv:ts=a,channel=const:web,type=const:view,cookie_id=c,header=false", "1-based"},
           {"csv:ts=a,channel=const:web,type=const:view,cookie_id=c,event_id=const:x", "event_id"},
           {"csv:ts=a,channel=const:web,type=const:view,cookie_id=c,price=const:-1", "negative"},
       }) {
    auto f = MakeFormat(c.spec, config);
    ASSERT_FALSE(f.ok()) << c.spec;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << c.spec;
    EXPECT_NE(f.status().message().find(c.must_mention), std::string::npos) << f.status().message();
  }
}

TEST(GenericCsvFormatTest, MapKeyFormOfFormatHeader) {
  auto format = Make("csv:map=event_id=id,ts=time,channel=const:app,type=const:open,device_id=dev");
  Batch b = ParseAll(*format, "id,time,dev", {"e1,1709259302,d1"});
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].event_id, "e1");
  EXPECT_EQ(b.events[0].ts_ms, 1709259302000);
}

TEST(GenericCsvFormatTest, NoHeaderIndicesAndDelimiters) {
  auto semi = Make("csv:header=false,delimiter=;,ts=1,channel=2,type=3,email=4,price=5");
  ASSERT_TRUE(semi);
  EXPECT_FALSE(semi->has_header());
  Batch b = ParseAll(*semi, "", {"2026-01-02T03:04:05Z;web;purchase; Ann@Example.COM ;9.5;extra"});
  ASSERT_EQ(b.events.size(), 1u) << (b.rejected.empty() ? "" : b.rejected[0].message);
  IngestConfig config;
  Pseudonymiser p(config);
  EXPECT_EQ(b.events[0].identities[0].value, p.Normalise(IdentityType::kEmail, "ann@example.com").value());
  EXPECT_EQ(b.events[0].price, 9.5);

  auto tab = Make("csv:header=false,delimiter=tab,ts=1,channel=const:web,type=const:view,cookie_id=2");
  Batch t = ParseAll(*tab, "", {"1709259302000\tck,1", "1709259302000"});
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].identities[0].value, "ck,1");
  ASSERT_EQ(t.rejected.size(), 1u);
  EXPECT_EQ(t.rejected[0].reason, RejectReason::kBadCsvRecord);
}

struct RejectCase {
  std::string record;
  RejectReason reason;
  std::string field;
};

TEST(GenericCsvFormatTest, RejectsWithReasonFieldAndLine) {
  auto format = Make(kSpec);
  ASSERT_TRUE(format->Header(kHeader).ok());
  std::vector<RejectCase> cases = {
      {"R1,yesterday,M1,,S,1,1,X", RejectReason::kBadTimestamp, "Sold At"},
      {"R1,,M1,,S,1,1,X", RejectReason::kMissingField, "Sold At"},
      {",2026-03-01 10:00:00,M1,,S,1,1,X", RejectReason::kMissingField, "Receipt Line"},
      {"R1,2026-03-01 10:00:00,,,S,1,1,X", RejectReason::kMissingIdentities, ""},
      {"R1,2026-03-01 10:00:00,M1,12,S,1,1,X", RejectReason::kInvalidIdentity, "Mobile"},
      {"R1,2026-03-01 10:00:00,M1,,S,two,1,X", RejectReason::kBadNumber, "Qty"},
      {"R1,2026-03-01 10:00:00,M1,,S,-2,1,X", RejectReason::kNegativeQuantity, "Qty"},
      {"R1,2026-03-01 10:00:00,M1,,S,1,-1,X", RejectReason::kNegativePrice, "Unit Price"},
      {"R1,2026-03-01 10:00:00,M1,,S,1,nan,X", RejectReason::kBadNumber, "Unit Price"},
      {"R1,2026-03-01 10:00:00,M1,,S,1,1", RejectReason::kBadCsvRecord, ""},
      {"R1,2026-03-01 10:00:00,M1,\"13800138000,S,1,1,X", RejectReason::kBadCsvRecord, ""},
      {"R1,2026-03-01 10:00:00,M\xff,,S,1,1,X", RejectReason::kInvalidUtf8, ""},
  };
  int64_t line = 1;
  for (const auto& c : cases) {
    Batch b;
    format->Parse(c.record, ++line, b);
    ASSERT_EQ(b.events.size(), 0u) << c.record;
    ASSERT_EQ(b.rejected.size(), 1u) << c.record;
    const RejectedRecord& r = b.rejected[0];
    EXPECT_EQ(r.reason, c.reason) << c.record << " → " << r.message;
    EXPECT_EQ(r.field, c.field) << c.record;
    EXPECT_EQ(r.line_no, line);
    EXPECT_NE(r.message.find("line " + std::to_string(line)), std::string::npos) << r.message;
    if (!c.field.empty()) {
      EXPECT_NE(r.message.find(c.field), std::string::npos) << r.message;
    }
    EXPECT_EQ(r.raw.find("13800138000"), std::string::npos) << "raw PII must be masked: " << r.raw;
  }
}

TEST(GenericCsvFormatTest, RejectionMessageNamesValueButNeverIdentityValues) {
  auto format = Make(kSpec);
  ASSERT_TRUE(format->Header(kHeader).ok());
  Batch b;
  format->Parse("R1,2026-03-01 10:00:00,M1,,S,1,-7.5,X", 2, b);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_NE(b.rejected[0].message.find("-7.5"), std::string::npos) << b.rejected[0].message;
  Batch b2;
  format->Parse("R1,2026-03-01 10:00:00,M1,not-a-phone-at-all,S,1,1,X", 3, b2);
  ASSERT_EQ(b2.rejected.size(), 1u);
  EXPECT_EQ(b2.rejected[0].message.find("not-a-phone-at-all"), std::string::npos) << b2.rejected[0].message;
}

TEST(GenericCsvFormatTest, OversizedRecordAndTruncatedRaw) {
  IngestConfig config;
  config.max_record_bytes = 8192;
  auto format = Make("csv:ts=ts,channel=const:web,type=const:view,cookie_id=c", config);
  ASSERT_TRUE(format->Header("ts,c").ok());
  Batch b;
  std::string big = "2026-03-01T10:00:00Z," + std::string(10000, 'x');
  format->Parse(big, 2, b);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].reason, RejectReason::kOversizedRecord);
  EXPECT_LE(b.rejected[0].raw.size(), 4096u);
}

TEST(GenericCsvFormatTest, RawIsCutOnUtf8Boundary) {
  auto format = Make("csv:ts=ts,channel=const:web,type=const:view,cookie_id=c");
  ASSERT_TRUE(format->Header("ts,c").ok());
  std::string record = "bad-time,";
  while (record.size() < 5000) record += "汉";
  Batch b;
  format->Parse(record, 2, b);
  ASSERT_EQ(b.rejected.size(), 1u);
  const std::string& raw = b.rejected[0].raw;
  EXPECT_LE(raw.size(), 4096u);
  EXPECT_EQ(raw.size() % 3, std::string("bad-time,").size() % 3);  // whole characters only
}

TEST(GenericCsvFormatTest, BlankLineYieldsNothing) {
  auto format = Make("csv:ts=ts,channel=const:web,type=const:view,cookie_id=c");
  Batch b = ParseAll(*format, "ts,c", {"", "  ", "\r"});
  EXPECT_TRUE(b.empty());
}

TEST(GenericCsvFormatTest, UnknownChannelAndTypeFromColumns) {
  auto format = Make("csv:ts=ts,channel=ch,type=t,cookie_id=c");
  Batch b = ParseAll(*format, "ts,ch,t,c",
                     {"2026-03-01T10:00:00Z,moon,view,c1", "2026-03-01T10:00:00Z,web,dance,c1",
                      "2026-03-01T10:00:00Z,web,custom:wishlist,c1"});
  ASSERT_EQ(b.rejected.size(), 2u);
  EXPECT_EQ(b.rejected[0].reason, RejectReason::kUnknownChannel);
  EXPECT_EQ(b.rejected[0].field, "ch");
  EXPECT_EQ(b.rejected[1].reason, RejectReason::kUnknownEventType);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].type, "custom:wishlist");
}

TEST(GenericCsvFormatTest, LocalTimeWithoutTzIsRejectedWithAHint) {
  auto format = Make("csv:ts=ts,channel=const:web,type=const:view,cookie_id=c");
  Batch b = ParseAll(*format, "ts,c", {"2026-03-01 10:00:00,c1"});
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].reason, RejectReason::kBadTimestamp);
  EXPECT_NE(b.rejected[0].message.find("tz="), std::string::npos) << b.rejected[0].message;
}

}  // namespace
}  // namespace omni::ingest
