// "catalogue[:delimiter=;]": the item catalogue as CSV with a header.
//   item_id,title,category,brand,price,colour
//   SKU-1,青花瓷马克杯,Home > Kitchen > Mugs,Jingdezhen,59.0,blue
//
// item_id is required; title, category (or category_path), brand and price
// are read when present; every other column becomes a string attribute in
// attributes_json (empty cells are left out). A category path written
// "A > B > C" or "A/B/C" is normalised to "A > B > C" ('>' wins when both
// appear, so "TV/Audio > Speakers" keeps its slash). Text is kept byte-exact
// (after trimming ASCII spaces), so Chinese titles survive unchanged.
// Rejected: empty item_id (missing_field), a price that is not a number
// (bad_number) or negative (negative_price), bad CSV.
#include <string>
#include <vector>

#include "omni/common/json_escape.h"
#include "omni/ingest/csv_format_util.h"
#include "omni/ingest/csv_formats.h"

namespace omni::ingest {
namespace {

// Appends `path` to `out` with " > " between its trimmed, non-empty parts.
void AppendCategoryPath(std::string& out, std::string_view path) {
  char sep = path.find('>') != std::string_view::npos ? '>' : '/';
  bool first = true;
  while (!path.empty()) {
    size_t pos = path.find(sep);
    std::string_view part = TrimSpaces(path.substr(0, pos));
    path = pos == std::string_view::npos ? std::string_view() : path.substr(pos + 1);
    if (part.empty()) continue;
    if (!first) out += " > ";
    out.append(part);
    first = false;
  }
}

class CatalogueFormat final : public CsvFormatBase {
 public:
  CatalogueFormat(const IngestConfig& config, char delimiter) : CsvFormatBase(config, delimiter) {}

  std::string_view name() const override { return "catalogue"; }
  bool has_header() const override { return true; }

  Status Header(std::string_view record) override {
    CsvHeader header;
    OMNI_RETURN_IF_ERROR(header.Parse(record, delimiter_));
    OMNI_RETURN_IF_ERROR(header.Require("catalogue", {"item_id"}));
    const auto& names = header.names();
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) {
        return InvalidArgument("catalogue: column " + std::to_string(i + 1) + " has no name (columns: " +
                               header.List() + ")");
      }
      if (header.Find(names[i]) != static_cast<int>(i)) {
        return InvalidArgument("catalogue: column '" + names[i] + "' appears twice");
      }
    }
    item_id_ = header.Find("item_id");
    title_ = header.Find("title");
    category_ = header.Find("category");
    int category_path = header.Find("category_path");
    if (category_ >= 0 && category_path >= 0) {
      return InvalidArgument("catalogue: give category or category_path, not both");
    }
    if (category_ < 0) category_ = category_path;
    brand_ = header.Find("brand");
    price_ = header.Find("price");
    attributes_.clear();
    for (size_t i = 0; i < names.size(); ++i) {
      int c = static_cast<int>(i);
      if (c == item_id_ || c == title_ || c == category_ || c == brand_ || c == price_) continue;
      std::string key;
      AppendJsonString(key, names[i]);
      key.push_back(':');
      attributes_.push_back({c, std::move(key), names[i]});
    }
    width_ = names.size();
    return Status::Ok();
  }

  void Parse(std::string_view record, int64_t line_no, Batch& out) override {
    if (!SplitOrReject(record, line_no, out)) return;
    if (!CheckColumnCount(record, line_no, width_, out)) return;
    std::string_view id = Field(item_id_);
    if (id.empty()) {
      Reject(out, record, line_no, RejectReason::kMissingField, "item_id", "item_id is empty");
      return;
    }
    std::optional<double> price;
    if (std::string_view p = Field(price_); !p.empty()) {
      double v = 0;
      if (!ParseFiniteDouble(p, v)) {
        Reject(out, record, line_no, RejectReason::kBadNumber, "price", "price " + DescribeValue(p) + " is not a number");
        return;
      }
      if (v < 0) {
        Reject(out, record, line_no, RejectReason::kNegativePrice, "price", "price " + DescribeValue(p) + " is negative");
        return;
      }
      price = v;
    }
    Item& item = out.items.emplace_back();
    item.item_id.assign(id);
    item.title.assign(Field(title_));
    AppendCategoryPath(item.category_path, Field(category_));
    item.brand.assign(Field(brand_));
    item.price = price;
    for (const Attribute& a : attributes_) {
      std::string_view v = Field(a.index);
      if (v.empty()) continue;
      item.attributes_json.push_back(item.attributes_json.empty() ? '{' : ',');
      item.attributes_json += a.json_key;
      AppendJsonString(item.attributes_json, v);
    }
    if (!item.attributes_json.empty()) item.attributes_json.push_back('}');
  }

 private:
  struct Attribute {
    int index;
    std::string json_key;  // "\"colour\":", escaped once at Header()
    std::string name;
  };

  int item_id_ = -1;
  int title_ = -1;
  int category_ = -1;
  int brand_ = -1;
  int price_ = -1;
  std::vector<Attribute> attributes_;
  size_t width_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<Format>> MakeCatalogueFormat(const Spec& spec, const IngestConfig& config) {
  OMNI_RETURN_IF_ERROR(spec.CheckKnown({"delimiter"}));
  OMNI_ASSIGN_OR_RETURN(char delimiter, DelimiterOption(spec, ','));
  return std::unique_ptr<Format>(std::make_unique<CatalogueFormat>(config, delimiter));
}

}  // namespace omni::ingest
