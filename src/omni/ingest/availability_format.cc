// "availability[:delimiter=;]": where an item is sold and in stock, as CSV
// with a header naming any of these columns (item_id required):
//   item_id,channel,store_id,sold,stock
//   SKU-1,store,SH-07,true,12
//   SKU-1,web,,true,
//   SKU-2,,,false,
// An empty channel means every channel, an empty store_id every store of the
// channel. sold is true/false/1/0/yes/no (empty = true); stock is a whole
// number >= 0 (0 = out of stock) or empty when unknown. Recommendation
// serving filters on these rows (DESIGN.md, "Serving rules").
// Rejected: empty item_id (missing_field), a channel not in the config
// (unknown_channel), a sold value that is not a boolean (wrong_type), a stock
// that is not a whole number (bad_number) or negative (negative_quantity).
// A column not in the list above fails the header (catches "stok").
#include <array>
#include <string>

#include "omni/ingest/csv_format_util.h"
#include "omni/ingest/csv_formats.h"

namespace omni::ingest {
namespace {

enum Column { kItemId, kChannel, kStoreId, kSold, kStock };
constexpr std::array<std::string_view, 5> kColumnNames = {"item_id", "channel", "store_id", "sold", "stock"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

class AvailabilityFormat final : public CsvFormatBase {
 public:
  AvailabilityFormat(const IngestConfig& config, char delimiter) : CsvFormatBase(config, delimiter) {
    columns_.fill(-1);
  }

  std::string_view name() const override { return "availability"; }
  bool has_header() const override { return true; }

  Status Header(std::string_view record) override {
    CsvHeader header;
    OMNI_RETURN_IF_ERROR(header.Parse(record, delimiter_));
    OMNI_RETURN_IF_ERROR(header.Require("availability", {"item_id"}));
    columns_.fill(-1);
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string& name = header.names()[i];
      bool known = false;
      for (size_t c = 0; c < kColumnNames.size(); ++c) {
        if (name != kColumnNames[c]) continue;
        if (columns_[c] >= 0) return InvalidArgument("availability: column '" + name + "' appears twice");
        columns_[c] = static_cast<int>(i);
        known = true;
      }
      if (!known) {
        return InvalidArgument("availability: unknown column '" + name +
                               "' (expected item_id, channel, store_id, sold, stock)");
      }
    }
    width_ = header.size();
    return Status::Ok();
  }

  void Parse(std::string_view record, int64_t line_no, Batch& out) override {
    if (!SplitOrReject(record, line_no, out)) return;
    if (!CheckColumnCount(record, line_no, width_, out)) return;
    auto reject = [&](RejectReason reason, Column c, std::string what) {
      Reject(out, record, line_no, reason, kColumnNames[c], what);
    };
    std::string_view id = Col(kItemId);
    if (id.empty()) return reject(RejectReason::kMissingField, kItemId, "item_id is empty");
    std::string_view channel = Col(kChannel);
    if (!channel.empty() && !config_.IsChannel(channel)) {
      return reject(RejectReason::kUnknownChannel, kChannel, "unknown channel " + DescribeValue(channel));
    }
    bool sold = true;
    std::string_view s = Col(kSold);
    if (s.empty() || s == "1" || EqualsIgnoreCase(s, "true") || EqualsIgnoreCase(s, "yes")) {
      sold = true;
    } else if (s == "0" || EqualsIgnoreCase(s, "false") || EqualsIgnoreCase(s, "no")) {
      sold = false;
    } else {
      return reject(RejectReason::kWrongType, kSold, "sold " + DescribeValue(s) + " is not true/false/1/0");
    }
    std::optional<int64_t> stock;
    if (std::string_view st = Col(kStock); !st.empty()) {
      int64_t v = 0;
      if (!ParseInt64(st, v)) {
        return reject(RejectReason::kBadNumber, kStock, "stock " + DescribeValue(st) + " is not a whole number");
      }
      if (v < 0) return reject(RejectReason::kNegativeQuantity, kStock, "stock " + DescribeValue(st) + " is negative");
      stock = v;
    }
    Availability& a = out.availability.emplace_back();
    a.item_id.assign(id);
    a.channel.assign(channel);
    a.store_id.assign(Col(kStoreId));
    a.sold = sold;
    a.stock = stock;
  }

 private:
  std::string_view Col(Column c) const { return Field(columns_[c]); }

  std::array<int, kColumnNames.size()> columns_;
  size_t width_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<Format>> MakeAvailabilityFormat(const Spec& spec, const IngestConfig& config) {
  OMNI_RETURN_IF_ERROR(spec.CheckKnown({"delimiter"}));
  OMNI_ASSIGN_OR_RETURN(char delimiter, DelimiterOption(spec, ','));
  return std::unique_ptr<Format>(std::make_unique<AvailabilityFormat>(config, delimiter));
}

}  // namespace omni::ingest
