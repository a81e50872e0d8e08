// "taobao": Alibaba's Taobao UserBehavior.csv (Tianchi data set 649), nine
// days of app behaviour, no header:
//   user_id,item_id,category_id,behavior_type,timestamp
//   1,2268318,2520377,pv,1511544070
//
// Mapping: customer_id = user_id (logged-in Taobao users), item_id, channel
// "app", properties {"category_id":"..."}; behavior pv → "view", cart →
// "add_to_cart", fav → "custom:favorite", buy → "purchase"; ts = timestamp
// (epoch seconds) with tz_offset_min = 480, because the shoppers' local time
// is China Standard Time (+08:00) and daily-pattern analyses need it.
// Event id: "taobao:<user>:<item>:<behavior>:<timestamp>".
// Rejected: unknown behaviours (unknown_event_type), timestamps that are not
// whole epoch seconds in 1970..2100, empty ids, records without exactly five
// fields.
#include <array>
#include <string>

#include "omni/common/json_escape.h"
#include "omni/ingest/csv_format_util.h"
#include "omni/ingest/csv_formats.h"

namespace omni::ingest {
namespace {

constexpr std::array<std::string_view, 5> kColumnNames = {"user_id", "item_id", "category_id", "behavior_type",
                                                          "timestamp"};
constexpr int32_t kChinaStandardTimeMin = 8 * 60;

class TaobaoFormat final : public CsvFormatBase {
 public:
  explicit TaobaoFormat(const IngestConfig& config)
      : CsvFormatBase(config, ','), favorite_type_(config.custom_type_prefix + "favorite") {}

  std::string_view name() const override { return "taobao"; }
  // Numbers only, never quoted: line framing skips the quote scan.
  RecordFraming framing() const override { return RecordFraming::kLines; }
  bool has_header() const override { return false; }

  void Parse(std::string_view record, int64_t line_no, Batch& out) override {
    if (!SplitOrReject(record, line_no, out)) return;
    if (!CheckColumnCount(record, line_no, kColumnNames.size(), out)) return;
    Event& e = out.events.emplace_back();
    if (!Fill(e, record, line_no, out)) out.events.pop_back();
  }

 private:
  bool Fill(Event& e, std::string_view record, int64_t line_no, Batch& out) {
    auto reject = [&](RejectReason reason, int c, std::string what) {
      Reject(out, record, line_no, reason, kColumnNames[c], what);
      return false;
    };
    std::string_view user = Field(0);
    std::string_view item = Field(1);
    std::string_view category = Field(2);
    std::string_view behavior = Field(3);
    std::string_view ts = Field(4);
    if (user.empty()) return reject(RejectReason::kMissingIdentities, 0, "user_id is empty");
    if (item.empty()) return reject(RejectReason::kMissingField, 1, "item_id is empty");
    if (behavior == "pv") {
      e.type = "view";
    } else if (behavior == "cart") {
      e.type = "add_to_cart";
    } else if (behavior == "fav") {
      e.type = favorite_type_;
    } else if (behavior == "buy") {
      e.type = "purchase";
    } else {
      return reject(RejectReason::kUnknownEventType, 3,
                    "behavior_type " + DescribeValue(behavior) + " is not pv, cart, fav or buy");
    }
    int64_t seconds = 0;
    if (!ParseInt64(ts, seconds) || seconds < 0 || seconds > 4133980800LL || !EpochMsInRange(seconds * 1000)) {
      return reject(RejectReason::kBadTimestamp, 4, "timestamp " + DescribeValue(ts) + " is not epoch seconds in 1970..2100");
    }
    if (!AddIdentity(e, IdentityType::kCustomerId, user, kColumnNames[0], record, line_no, out)) return false;

    e.event_id.reserve(10 + user.size() + item.size() + behavior.size() + ts.size());
    e.event_id = "taobao:";
    e.event_id.append(user);
    e.event_id.push_back(':');
    e.event_id.append(item);
    e.event_id.push_back(':');
    e.event_id.append(behavior);
    e.event_id.push_back(':');
    e.event_id.append(ts);
    e.ts_ms = seconds * 1000;
    e.tz_offset_min = kChinaStandardTimeMin;
    e.channel = "app";
    e.item_id.assign(item);
    if (!category.empty()) {
      e.properties_json = "{\"category_id\":";
      AppendJsonString(e.properties_json, category);
      e.properties_json.push_back('}');
    }
    e.line_no = line_no;
    return true;
  }

  std::string favorite_type_;
};

}  // namespace

std::unique_ptr<Format> MakeTaobaoFormat(const IngestConfig& config) {
  return std::make_unique<TaobaoFormat>(config);
}

}  // namespace omni::ingest
