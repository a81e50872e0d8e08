// "csv:<mapping>": a retailer's own export (orders, POS receipts, CRM
// members, web logs) mapped onto the canonical event column by column.
//
//   csv:event_id=Receipt Line,ts=Sold At,channel=const:store,type=const:purchase,
//       member_card=Card No,phone=Mobile,item_id=SKU,quantity=Qty,price=Unit Price,
//       currency=const:CNY,store_id=Shop,tz=+08:00,delimiter=;
//
// Each canonical field names a column (by header name, or by 1-based index
// with header=false) or a constant ("const:VALUE"). Without an event_id
// mapping the id is derived from the record's bytes ("csv:" + 16 hex chars of
// BLAKE2b), so re-importing a file is idempotent and identical rows count as
// duplicates. Optional: tz (offset for timestamps written without one),
// delimiter, header. See docs/formats.md.
#include <array>
#include <limits>
#include <string>
#include <utility>

#include "omni/ingest/csv_format_util.h"
#include "omni/ingest/csv_formats.h"
#include "omni/ingest/timestamp.h"

namespace omni::ingest {
namespace {

// Canonical fields a mapping can fill, in the order records are checked.
enum Slot : int {
  kEventId = 0,
  kTs,
  kChannel,
  kType,
  kItemId,
  kQuantity,
  kPrice,
  kCurrency,
  kOrderId,
  kStoreId,
  kCampaignId,
  kFirstIdentity,  // followed by one slot per IdentityType, in enum order
  kSlotCount = kFirstIdentity + kIdentityTypeCount,
};

constexpr std::array<std::string_view, kFirstIdentity> kEventFieldNames = {
    "event_id", "ts",    "channel",  "type",     "item_id",    "quantity",
    "price",    "currency", "order_id", "store_id", "campaign_id"};

std::string_view SlotName(int slot) {
  return slot < kFirstIdentity ? kEventFieldNames[slot]
                               : IdentityTypeName(static_cast<IdentityType>(slot - kFirstIdentity));
}

constexpr std::string_view kConstPrefix = "const:";

// Where one canonical field comes from.
struct Binding {
  bool bound = false;
  bool is_const = false;
  std::string constant;  // is_const
  std::string column;    // the mapping's text: a header name or a 1-based index
  int index = -1;        // 0-based position once known
};

class GenericCsvFormat final : public CsvFormatBase {
 public:
  GenericCsvFormat(const IngestConfig& config, char delimiter, bool header, std::optional<int32_t> tz,
                   std::array<Binding, kSlotCount> bindings)
      : CsvFormatBase(config, delimiter), header_(header), tz_(tz), bindings_(std::move(bindings)) {
    if (!header_) {
      for (const Binding& b : bindings_) {
        if (b.bound && !b.is_const) columns_ = std::max(columns_, static_cast<size_t>(b.index) + 1);
      }
    }
  }

  std::string_view name() const override { return "csv"; }
  bool has_header() const override { return header_; }

  Status Header(std::string_view record) override {
    CsvHeader header;
    OMNI_RETURN_IF_ERROR(header.Parse(record, delimiter_));
    for (int slot = 0; slot < kSlotCount; ++slot) {
      Binding& b = bindings_[slot];
      if (!b.bound || b.is_const) continue;
      b.index = header.Find(b.column);
      if (b.index < 0) {
        return InvalidArgument("csv: column '" + b.column + "' mapped to " + std::string(SlotName(slot)) +
                               " is not in the header (columns: " + header.List() + ")");
      }
    }
    columns_ = header.size();
    return Status::Ok();
  }

  void Parse(std::string_view record, int64_t line_no, Batch& out) override {
    if (!SplitOrReject(record, line_no, out)) return;
    if (header_) {
      if (!CheckColumnCount(record, line_no, columns_, out)) return;
    } else if (fields_.size() < columns_) {
      Reject(out, record, line_no, RejectReason::kBadCsvRecord, "",
             "expected at least " + std::to_string(columns_) + " columns, found " +
                 std::to_string(fields_.size()));
      return;
    }
    Event& e = out.events.emplace_back();
    if (!Fill(e, record, line_no, out)) out.events.pop_back();
  }

 private:
  std::string_view Value(int slot) const {
    const Binding& b = bindings_[slot];
    if (!b.bound) return {};
    if (b.is_const) return b.constant;
    return Field(b.index);
  }

  // The column name for messages and RejectedRecord::field.
  std::string_view Column(int slot) const {
    const Binding& b = bindings_[slot];
    return b.is_const ? SlotName(slot) : std::string_view(b.column);
  }

  bool Fill(Event& e, std::string_view record, int64_t line_no, Batch& out) {
    e.line_no = line_no;
    auto reject = [&](RejectReason reason, int slot, std::string what) {
      Reject(out, record, line_no, reason, Column(slot), what);
      return false;
    };
    auto missing = [&](int slot) {
      return reject(RejectReason::kMissingField, slot, std::string(SlotName(slot)) + " is empty");
    };

    if (bindings_[kEventId].bound) {
      std::string_view id = Value(kEventId);
      if (id.empty()) return missing(kEventId);
      e.event_id.assign(id);
    } else {
      e.event_id.reserve(20);
      e.event_id = "csv:";
      AppendRecordHash(e.event_id, record);
    }

    std::string_view ts = Value(kTs);
    if (ts.empty()) return missing(kTs);
    StatusOr<ParsedTime> t = tz_ ? ParseLocalTimestamp(ts, *tz_) : ParseTimestamp(ts);
    if (!t.ok()) {
      std::string what = "bad timestamp " + DescribeValue(ts) + ": " + t.status().message();
      if (!tz_) what += " (add tz=+HH:MM to the mapping for local times without an offset)";
      return reject(RejectReason::kBadTimestamp, kTs, std::move(what));
    }
    e.ts_ms = t->ts_ms;
    e.tz_offset_min = t->tz_offset_min;

    std::string_view channel = Value(kChannel);
    if (channel.empty()) return missing(kChannel);
    if (!config_.IsChannel(channel)) {
      return reject(RejectReason::kUnknownChannel, kChannel, "unknown channel " + DescribeValue(channel));
    }
    e.channel.assign(channel);

    std::string_view type = Value(kType);
    if (type.empty()) return missing(kType);
    if (!IsAcceptedEventType(config_, type)) {
      return reject(RejectReason::kUnknownEventType, kType, "unknown event type " + DescribeValue(type));
    }
    e.type.assign(type);

    for (int i = 0; i < kIdentityTypeCount; ++i) {
      int slot = kFirstIdentity + i;
      std::string_view raw = Value(slot);
      if (raw.empty()) continue;
      if (!AddIdentity(e, static_cast<IdentityType>(i), raw, Column(slot), record, line_no, out)) return false;
    }
    if (e.identities.empty()) {
      Reject(out, record, line_no, RejectReason::kMissingIdentities, "", "no identifier: every identity column is empty");
      return false;
    }

    e.item_id.assign(Value(kItemId));
    e.currency.assign(Value(kCurrency));
    e.order_id.assign(Value(kOrderId));
    e.store_id.assign(Value(kStoreId));
    e.campaign_id.assign(Value(kCampaignId));

    if (std::string_view q = Value(kQuantity); !q.empty()) {
      double v = 0;
      if (!ParseFiniteDouble(q, v)) {
        return reject(RejectReason::kBadNumber, kQuantity, "quantity " + DescribeValue(q) + " is not a number");
      }
      if (v < 0 && e.type == "purchase") {
        return reject(RejectReason::kNegativeQuantity, kQuantity,
                      "quantity " + DescribeValue(q) + " is negative on a purchase (send refunds as type refund)");
      }
      e.quantity = v;
    }
    if (std::string_view p = Value(kPrice); !p.empty()) {
      double v = 0;
      if (!ParseFiniteDouble(p, v)) {
        return reject(RejectReason::kBadNumber, kPrice, "price " + DescribeValue(p) + " is not a number");
      }
      if (v < 0) return reject(RejectReason::kNegativePrice, kPrice, "price " + DescribeValue(p) + " is negative");
      e.price = v;
    }
    return true;
  }

  bool header_;
  std::optional<int32_t> tz_;
  std::array<Binding, kSlotCount> bindings_;
  size_t columns_ = 0;  // with a header: its width; without: the highest mapped index
};

// Adds one `field=source` mapping entry to `bindings`.
Status Bind(const Spec& spec, std::string_view field, std::string_view source, bool header,
            std::array<Binding, kSlotCount>& bindings) {
  int slot = -1;
  for (int i = 0; i < kSlotCount; ++i) {
    if (SlotName(i) == field) slot = i;
  }
  if (slot < 0) return InvalidArgument("spec '" + spec.ToString() + "': unknown field '" + std::string(field) + "'");
  Binding& b = bindings[slot];
  if (b.bound) {
    return InvalidArgument("spec '" + spec.ToString() + "': field '" + std::string(field) + "' mapped twice");
  }
  source = TrimSpaces(source);
  b.bound = true;
  if (source.substr(0, kConstPrefix.size()) == kConstPrefix) {
    b.is_const = true;
    b.constant = std::string(TrimSpaces(source.substr(kConstPrefix.size())));
    if (slot == kEventId) {
      return InvalidArgument("spec '" + spec.ToString() +
                             "': event_id cannot be a constant (every event would be a duplicate)");
    }
    if (b.constant.empty()) {
      return InvalidArgument("spec '" + spec.ToString() + "': " + std::string(field) + "=const: needs a value");
    }
    return Status::Ok();
  }
  if (source.empty()) {
    return InvalidArgument("spec '" + spec.ToString() + "': " + std::string(field) + " needs a column");
  }
  b.column = std::string(source);
  if (!header) {
    int64_t index = 0;
    if (!ParseInt64(source, index) || index < 1 || index > 100000) {
      return InvalidArgument("spec '" + spec.ToString() + "': with header=false, " + std::string(field) +
                             " must name a 1-based column number, not '" + std::string(source) + "'");
    }
    b.index = static_cast<int>(index - 1);
  }
  return Status::Ok();
}

// Checks a constant once, at build time, instead of rejecting every record.
Status CheckConstant(const Spec& spec, const IngestConfig& config, int slot, const Binding& b,
                     std::optional<int32_t> tz) {
  if (!b.bound || !b.is_const) return Status::Ok();
  auto bad = [&](std::string what) {
    return InvalidArgument("spec '" + spec.ToString() + "': " + std::string(SlotName(slot)) + "=const:" +
                           b.constant + " " + what);
  };
  double v = 0;
  switch (slot) {
    case kChannel:
      if (!config.IsChannel(b.constant)) return bad("is not a known channel");
      break;
    case kType:
      if (!IsAcceptedEventType(config, b.constant)) return bad("is not a known event type");
      break;
    case kTs: {
      StatusOr<ParsedTime> t = tz ? ParseLocalTimestamp(b.constant, *tz) : ParseTimestamp(b.constant);
      if (!t.ok()) return bad("is not a timestamp: " + t.status().message());
      break;
    }
    case kQuantity:
    case kPrice:
      if (!ParseFiniteDouble(b.constant, v)) return bad("is not a number");
      if (v < 0 && slot == kPrice) return bad("is negative");
      break;
    default:
      break;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Format>> MakeGenericCsvFormat(const Spec& spec, const IngestConfig& config) {
  std::vector<std::string_view> known = {"delimiter", "tz", "header", "map"};
  for (int i = 0; i < kSlotCount; ++i) known.push_back(SlotName(i));
  OMNI_RETURN_IF_ERROR(spec.CheckKnown(known));

  OMNI_ASSIGN_OR_RETURN(char delimiter, DelimiterOption(spec, ','));
  OMNI_ASSIGN_OR_RETURN(bool header, spec.GetBool("header", true));
  std::optional<int32_t> tz;
  if (spec.Has("tz")) {
    OMNI_ASSIGN_OR_RETURN(std::string text, spec.GetString("tz", ""));
    tz = ParseUtcOffset(text);
    if (!tz) {
      return InvalidArgument("spec '" + spec.ToString() + "': tz='" + text + "' is not an offset like +08:00");
    }
  }

  std::array<Binding, kSlotCount> bindings;
  for (const auto& [key, value] : spec.params()) {
    if (key == "delimiter" || key == "tz" || key == "header") continue;
    if (key == "map") {
      // "csv:map=event_id=id,ts=time" (format.h's example): the first pair
      // arrives as map's value.
      size_t eq = value.find('=');
      if (eq == std::string::npos) {
        return InvalidArgument("spec '" + spec.ToString() + "': map='" + value + "' is not field=column");
      }
      OMNI_RETURN_IF_ERROR(
          Bind(spec, TrimSpaces(std::string_view(value).substr(0, eq)), std::string_view(value).substr(eq + 1),
               header, bindings));
      continue;
    }
    OMNI_RETURN_IF_ERROR(Bind(spec, key, value, header, bindings));
  }

  for (int slot : {kTs, kChannel, kType}) {
    if (!bindings[slot].bound) {
      return InvalidArgument("spec '" + spec.ToString() + "': the mapping needs " + std::string(SlotName(slot)) +
                             "=COLUMN or " + std::string(SlotName(slot)) + "=const:VALUE");
    }
  }
  bool any_identity = false;
  for (int i = 0; i < kIdentityTypeCount; ++i) any_identity = any_identity || bindings[kFirstIdentity + i].bound;
  if (!any_identity) {
    return InvalidArgument("spec '" + spec.ToString() +
                           "': the mapping needs at least one identity column (customer_id, member_card, phone, "
                           "email, social_id, device_id, cookie_id)");
  }
  for (int slot = 0; slot < kSlotCount; ++slot) {
    OMNI_RETURN_IF_ERROR(CheckConstant(spec, config, slot, bindings[slot], tz));
  }
  return std::unique_ptr<Format>(
      std::make_unique<GenericCsvFormat>(config, delimiter, header, tz, std::move(bindings)));
}

}  // namespace omni::ingest
