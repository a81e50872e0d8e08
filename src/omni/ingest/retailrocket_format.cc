// "retailrocket": the RetailRocket e-commerce data set's events.csv, 4.5
// months of a real shop's anonymised web behaviour:
//   timestamp,visitorid,event,itemid,transactionid
//   1433221332117,257597,view,355908,
//
// Mapping: timestamp (epoch milliseconds, UTC) → ts; visitorid → cookie_id
// (RetailRocket visitors are anonymous browser cookies, never customers);
// event view → "view", addtocart → "add_to_cart", transaction → "purchase"
// with order_id = transactionid; itemid → item_id; channel "web".
// Event id: "retailrocket:<timestamp>:<visitorid>:<event>:<itemid>", so a
// line repeated in the file (the source has a few) is one duplicate event.
// Rejected: unknown event names, non-integer or out-of-range timestamps,
// empty visitorid or itemid, wrong column counts.
#include <array>
#include <string>

#include "omni/ingest/csv_format_util.h"
#include "omni/ingest/csv_formats.h"

namespace omni::ingest {
namespace {

enum Column { kTimestamp, kVisitorId, kEvent, kItemId, kTransactionId };
constexpr std::array<std::string_view, 5> kColumnNames = {"timestamp", "visitorid", "event", "itemid",
                                                          "transactionid"};

class RetailRocketFormat final : public NamedColumnCsvFormat<kColumnNames.size()> {
 public:
  explicit RetailRocketFormat(const IngestConfig& config) : NamedColumnCsvFormat(config, kColumnNames) {}

  std::string_view name() const override { return "retailrocket"; }

 private:
  bool Fill(Event& e, std::string_view record, int64_t line_no, Batch& out) override {
    auto reject = [&](RejectReason reason, Column c, std::string what) {
      Reject(out, record, line_no, reason, kColumnNames[c], what);
      return false;
    };
    std::string_view ts = Col(kTimestamp);
    int64_t ts_ms = 0;
    if (!ParseInt64(ts, ts_ms) || !EpochMsInRange(ts_ms)) {
      return reject(RejectReason::kBadTimestamp, kTimestamp,
                    "timestamp " + DescribeValue(ts) + " is not epoch milliseconds in 1970..2100");
    }
    std::string_view event = Col(kEvent);
    if (event == "view") {
      e.type = "view";
    } else if (event == "addtocart") {
      e.type = "add_to_cart";
    } else if (event == "transaction") {
      e.type = "purchase";
    } else {
      return reject(RejectReason::kUnknownEventType, kEvent,
                    "event " + DescribeValue(event) + " is not view, addtocart or transaction");
    }
    std::string_view visitor = Col(kVisitorId);
    if (visitor.empty()) return reject(RejectReason::kMissingIdentities, kVisitorId, "visitorid is empty");
    std::string_view item = Col(kItemId);
    if (item.empty()) return reject(RejectReason::kMissingField, kItemId, "itemid is empty");
    if (!AddIdentity(e, IdentityType::kCookieId, visitor, kColumnNames[kVisitorId], record, line_no, out)) {
      return false;
    }

    e.event_id.reserve(16 + ts.size() + visitor.size() + event.size() + item.size());
    e.event_id = "retailrocket:";
    e.event_id.append(ts);
    e.event_id.push_back(':');
    e.event_id.append(visitor);
    e.event_id.push_back(':');
    e.event_id.append(event);
    e.event_id.push_back(':');
    e.event_id.append(item);
    e.ts_ms = ts_ms;
    e.tz_offset_min = 0;
    e.channel = "web";
    e.item_id.assign(item);
    if (e.type == "purchase") e.order_id.assign(Col(kTransactionId));
    e.line_no = line_no;
    return true;
  }

};

}  // namespace

std::unique_ptr<Format> MakeRetailRocketFormat(const IngestConfig& config) {
  return std::make_unique<RetailRocketFormat>(config);
}

}  // namespace omni::ingest
