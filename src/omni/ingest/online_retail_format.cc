// "online-retail": the UCI Online Retail data set (Chen, Sain & Guo 2012), a
// UK online gift retailer's invoice lines, 2010-12 .. 2011-12:
//   InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
//
// Mapping (docs/formats.md has the full table):
//  - every line is one event on channel "web" (the retailer sells online only)
//    with order_id = InvoiceNo, item_id = StockCode, quantity, price =
//    UnitPrice, currency "GBP", properties.country = Country;
//  - InvoiceDate ("2010-12-01 08:26:00", or the workbook's "12/1/2010 8:26")
//    is UK wall-clock time, read as +00:00. During British Summer Time
//    (2011-03-27 .. 2011-10-30) that is one hour later than the true UTC
//    instant; the file carries no zone, and a fixed offset keeps the mapping
//    reproducible;
//  - type "purchase"; an invoice starting with 'C' is a cancellation: type
//    "refund" with the quantity made positive (a refund of N units); an
//    invoice starting with 'A' ("Adjust bad debt") and a non-C line with a
//    negative quantity (stock write-offs: "damaged", "lost", ...) become
//    "custom:adjustment" with the quantity as written and
//    properties.non_product = true, so nothing in the file is lost but none
//    of it counts as a sale;
//  - CustomerID → customer_id (a trailing ".0" from spreadsheet exports is
//    dropped); a line without one is a guest purchase, kept with cookie_id
//    "guest-invoice:<InvoiceNo>" (one guest per invoice) and properties.guest;
//  - postage, fees, discounts, manual lines, samples and gift vouchers (POST,
//    DOT, C2, D, M, S, B, BANK CHARGES, AMAZONFEE, CRUK, gift_0001_*) are
//    kept with properties.non_product = true so recommenders can skip them;
//  - each product line also upserts the catalogue: Item{StockCode,
//    Description, UnitPrice when > 0}; the latest non-empty values win. An
//    Item is emitted only when they change, and at most once per item per
//    batch (updated in place), so the catalogue costs a few thousand upserts
//    per batch rather than one per line.
// Event id: "online-retail:<InvoiceNo>:<StockCode>:<16 hex of BLAKE2b of the
// line>". The file has 5,268 lines that repeat an earlier line byte for byte;
// they get the same id and are counted as duplicates, not double sales.
// Rejected: a negative UnitPrice (the two "Adjust bad debt" lines of
// -11,062.06), unparsable numbers or dates, empty InvoiceNo or StockCode.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "omni/common/json_escape.h"
#include "omni/ingest/csv_format_util.h"
#include "omni/ingest/csv_formats.h"
#include "omni/ingest/timestamp.h"

namespace omni::ingest {
namespace {

enum Column { kInvoiceNo, kStockCode, kDescription, kQuantity, kInvoiceDate, kUnitPrice, kCustomerId, kCountry };
constexpr std::array<std::string_view, 8> kColumnNames = {
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"};

// Stock codes that are charges, fees or bookkeeping rather than products.
bool IsNonProductCode(std::string_view code) {
  static constexpr std::array<std::string_view, 11> kCodes = {
      "POST", "DOT", "C2", "D", "M", "m", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK"};
  for (std::string_view c : kCodes) {
    if (code == c) return true;
  }
  return code.substr(0, 5) == "gift_";  // gift vouchers: money, not merchandise
}

class OnlineRetailFormat final : public NamedColumnCsvFormat<kColumnNames.size()> {
 public:
  explicit OnlineRetailFormat(const IngestConfig& config)
      : NamedColumnCsvFormat(config, kColumnNames),
        adjustment_type_(config.custom_type_prefix + "adjustment") {}

  std::string_view name() const override { return "online-retail"; }

 private:
  bool Fill(Event& e, std::string_view record, int64_t line_no, Batch& out) override {
    auto reject = [&](RejectReason reason, Column c, std::string what) {
      Reject(out, record, line_no, reason, kColumnNames[c], what);
      return false;
    };
    std::string_view invoice = Col(kInvoiceNo);
    std::string_view code = Col(kStockCode);
    if (invoice.empty()) return reject(RejectReason::kMissingField, kInvoiceNo, "InvoiceNo is empty");
    if (code.empty()) return reject(RejectReason::kMissingField, kStockCode, "StockCode is empty");

    double quantity = 0;
    std::string_view q = Col(kQuantity);
    if (!ParseFiniteDouble(q, quantity)) {
      return reject(RejectReason::kBadNumber, kQuantity, "Quantity " + DescribeValue(q) + " is not a number");
    }
    double price = 0;
    std::string_view p = Col(kUnitPrice);
    if (!ParseFiniteDouble(p, price)) {
      return reject(RejectReason::kBadNumber, kUnitPrice, "UnitPrice " + DescribeValue(p) + " is not a number");
    }
    if (price < 0) return reject(RejectReason::kNegativePrice, kUnitPrice, "UnitPrice " + DescribeValue(p) + " is negative");

    std::string_view date = Col(kInvoiceDate);
    // An invoice's lines share one InvoiceDate: parse it once per run.
    if (date != last_date_ || last_date_.empty()) {
      // ParseLocalTimestamp reads both "2010-12-01 08:26:00" and the workbook's "12/1/2010 8:26".
      StatusOr<ParsedTime> t = ParseLocalTimestamp(date, 0);
      if (!t.ok()) {
        return reject(RejectReason::kBadTimestamp, kInvoiceDate,
                      "InvoiceDate " + DescribeValue(date) + " is neither YYYY-MM-DD HH:MM:SS nor M/D/YYYY H:MM");
      }
      last_date_.assign(date);
      last_ts_ms_ = t->ts_ms;
    }
    e.ts_ms = last_ts_ms_;
    e.tz_offset_min = 0;

    std::string_view customer = Col(kCustomerId);
    if (customer.size() > 2 && customer.substr(customer.size() - 2) == ".0") customer.remove_suffix(2);
    bool guest = customer.empty();
    if (guest) {
      guest_id_.assign("guest-invoice:");
      guest_id_.append(invoice);
      if (!AddIdentity(e, IdentityType::kCookieId, guest_id_, kColumnNames[kCustomerId], record, line_no, out)) {
        return false;
      }
    } else if (!AddIdentity(e, IdentityType::kCustomerId, customer, kColumnNames[kCustomerId], record, line_no,
                            out)) {
      return false;
    }

    bool non_product = IsNonProductCode(code);
    if (invoice.front() == 'C') {
      e.type = "refund";
      quantity = std::fabs(quantity);
    } else if (invoice.front() == 'A' || quantity < 0) {
      e.type = adjustment_type_;
      non_product = true;
    } else {
      e.type = "purchase";
    }

    // Built in place: one allocation, no per-piece string calls.
    static constexpr std::string_view kIdPrefix = "online-retail:";
    const size_t head = kIdPrefix.size() + invoice.size() + 1 + code.size() + 1;
    e.event_id.reserve(head + 16);
    e.event_id.resize(head);
    char* at = e.event_id.data();
    std::memcpy(at, kIdPrefix.data(), kIdPrefix.size());
    at += kIdPrefix.size();
    std::memcpy(at, invoice.data(), invoice.size());
    at += invoice.size();
    *at++ = ':';
    std::memcpy(at, code.data(), code.size());
    at += code.size();
    *at = ':';
    AppendRecordHash(e.event_id, record);
    e.channel = "web";
    e.item_id.assign(code);
    e.quantity = quantity;
    e.price = price;
    e.currency = "GBP";
    e.order_id.assign(invoice);
    e.line_no = line_no;

    // Consecutive lines mostly share the country and flags: the properties
    // text is rebuilt only when one of them changes.
    std::string_view country = Col(kCountry);
    if (!props_valid_ || country != props_country_ || guest != props_guest_ || non_product != props_non_product_) {
      props_country_.assign(country);
      props_guest_ = guest;
      props_non_product_ = non_product;
      props_valid_ = true;
      std::string& props = props_;
      props.clear();
      if (!country.empty() || guest || non_product) {
        props.push_back('{');
        if (!country.empty()) {
          props += "\"country\":";
          AppendJsonString(props, country);
        }
        if (guest) props += props.size() > 1 ? ",\"guest\":true" : "\"guest\":true";
        if (non_product) props += props.size() > 1 ? ",\"non_product\":true" : "\"non_product\":true";
        props.push_back('}');
      }
    }
    e.properties_json = props_;

    if (!non_product) UpdateItem(code, Col(kDescription), price, out);
    return true;
  }

  // Emits the item when its latest known title or price changed, so the
  // catalogue ends as "later rows win" with one upsert per change instead of
  // one per line.
  void UpdateItem(std::string_view code, std::string_view description, double price, Batch& out) {
    // Debian's abseil has its own string_view type for heterogeneous lookup.
    auto it = items_.find(absl::string_view(code.data(), code.size()));
    bool changed = it == items_.end();
    if (changed) it = items_.emplace(std::string(code), KnownItem{}).first;
    KnownItem& known = it->second;
    const bool in_batch = known.slot < out.items.size() && out.items[known.slot].item_id == code;
    const bool title_changes = !description.empty() && description != known.title;
    const bool price_changes = price > 0 && (!known.price || *known.price != price);
    if ((title_changes || price_changes) && !in_batch && known.emitted) {
      // What the store holds (written by an earlier batch) before this batch's row.
      known.stored_title = known.title;
      known.stored_price = known.price;
    }
    if (title_changes) {
      known.title.assign(description);
      changed = true;
    }
    if (price_changes) {
      known.price = price;
      changed = true;
    }
    // Nothing known yet (a first line with no description and price 0): an
    // empty row would only blank out a title loaded from a catalogue.
    if (!changed || (known.title.empty() && !known.price)) return;
    // One row per item per batch: prices in this file flip between customer
    // tiers line by line, and one upsert per flip would triple the writes.
    // Each code has at most one row in a batch, so finding this code at its
    // last slot means that row is in this batch; in a newer batch the slot
    // holds another code or is out of range.
    if (in_batch) {
      if (known.stored_valid && known.title == known.stored_title && known.price == known.stored_price) {
        // Back to what the store holds (prices flip between customer tiers
        // within an invoice run): the row would rewrite the same values, so
        // it leaves the batch (the last row takes its place). About 40% of
        // this file's catalogue upserts.
        const size_t slot = known.slot;
        known.slot = static_cast<size_t>(-1);
        if (slot + 1 != out.items.size()) {
          out.items[slot] = std::move(out.items.back());
          const Item& moved = out.items[slot];
          items_.find(absl::string_view(moved.item_id.data(), moved.item_id.size()))->second.slot = slot;
        }
        out.items.pop_back();
        return;
      }
      Item& item = out.items[known.slot];
      item.title = known.title;
      item.price = known.price;
      return;
    }
    known.stored_valid = known.emitted;
    known.emitted = true;
    known.slot = out.items.size();
    Item& item = out.items.emplace_back();
    item.item_id.assign(code);
    item.title = known.title;
    item.price = known.price;
  }

  struct KnownItem {
    std::string title;
    std::optional<double> price;
    // Whether a row was ever emitted; and, for this batch's row, what the
    // store held when it was started (when a row was emitted before).
    bool emitted = false;
    bool stored_valid = false;
    std::string stored_title;
    std::optional<double> stored_price;
    size_t slot = static_cast<size_t>(-1);  // index in the batch's items of the last row emitted
  };

  std::string adjustment_type_;
  std::string guest_id_;
  // The previous line's InvoiceDate and its time (empty: none yet).
  std::string last_date_;
  int64_t last_ts_ms_ = 0;
  // The previous line's properties and what they were built from.
  bool props_valid_ = false;
  std::string props_country_;
  bool props_guest_ = false;
  bool props_non_product_ = false;
  std::string props_;
  absl::flat_hash_map<std::string, KnownItem> items_;
};

}  // namespace

std::unique_ptr<Format> MakeOnlineRetailFormat(const IngestConfig& config) {
  return std::make_unique<OnlineRetailFormat>(config);
}

}  // namespace omni::ingest
