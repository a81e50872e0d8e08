// "movielens": GroupLens MovieLens ratings in any of their three layouts,
// detected per record so one spec serves every release:
//   u.data       (ml-100k)          user \t item \t rating \t timestamp
//   ratings.dat  (ml-1m, ml-10m)    user::item::rating::timestamp
//   ratings.csv  (ml-20m, ml-25m,   userId,movieId,rating,timestamp  (header)
//                 ml-latest)
// The reader frames by line (has_header() is false because two layouts have
// no header); a first record starting with "userId" is taken as the
// ratings.csv header and produces nothing.
//
// Mapping: customer_id = user, item_id = movie, type "custom:rating",
// properties {"rating":R}, channel "web", ts = timestamp (epoch seconds, UTC).
// A rating is neither a view nor a purchase, so it gets a custom type that
// recommenders weight explicitly (DESIGN.md, "Recommendation").
// Event id: "movielens:<user>:<item>:<timestamp>".
// Rejected: a rating outside [0.5, 5] or not a number (bad_number), a
// timestamp that is not whole epoch seconds in 1970..2100, empty ids, a
// record without exactly four fields.
#include <array>
#include <string>

#include "omni/ingest/csv_format_util.h"
#include "omni/ingest/csv_formats.h"

namespace omni::ingest {
namespace {

constexpr std::array<std::string_view, 4> kColumnNames = {"user", "item", "rating", "timestamp"};

class MovieLensFormat final : public CsvFormatBase {
 public:
  explicit MovieLensFormat(const IngestConfig& config)
      : CsvFormatBase(config, ','), rating_type_(config.custom_type_prefix + "rating") {}

  std::string_view name() const override { return "movielens"; }
  RecordFraming framing() const override { return RecordFraming::kLines; }
  bool has_header() const override { return false; }

  void Parse(std::string_view record, int64_t line_no, Batch& out) override {
    bool first = first_;
    first_ = false;
    if (first && record.substr(0, 6) == "userId") return;  // the ratings.csv header
    if (record.find("::") != std::string_view::npos) {
      // ratings.dat: "::" is not a one-byte delimiter, so split here. Its
      // fields are numbers; no quoting to undo.
      if (!CheckRecord(record, line_no, out)) return;
      fields_.clear();
      std::string_view rest = record;
      if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
      for (;;) {
        size_t sep = rest.find("::");
        fields_.push_back(rest.substr(0, sep));
        if (sep == std::string_view::npos) break;
        rest.remove_prefix(sep + 2);
      }
    } else {
      delimiter_ = record.find('\t') != std::string_view::npos ? '\t' : ',';
      if (!SplitOrReject(record, line_no, out)) return;
    }
    if (!CheckColumnCount(record, line_no, 4, out)) return;
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
    std::string_view rating_text = Field(2);
    std::string_view ts = Field(3);
    if (user.empty()) return reject(RejectReason::kMissingIdentities, 0, "user id is empty");
    if (item.empty()) return reject(RejectReason::kMissingField, 1, "item id is empty");
    double rating = 0;
    if (!ParseFiniteDouble(rating_text, rating) || rating < 0.5 || rating > 5) {
      return reject(RejectReason::kBadNumber, 2, "rating " + DescribeValue(rating_text) + " is not a number in [0.5, 5]");
    }
    int64_t seconds = 0;
    if (!ParseInt64(ts, seconds) || seconds < 0 || seconds > 4133980800LL || !EpochMsInRange(seconds * 1000)) {
      return reject(RejectReason::kBadTimestamp, 3, "timestamp " + DescribeValue(ts) + " is not epoch seconds in 1970..2100");
    }
    if (!AddIdentity(e, IdentityType::kCustomerId, user, kColumnNames[0], record, line_no, out)) return false;

    e.event_id.reserve(12 + user.size() + item.size() + ts.size());
    e.event_id = "movielens:";
    e.event_id.append(user);
    e.event_id.push_back(':');
    e.event_id.append(item);
    e.event_id.push_back(':');
    e.event_id.append(ts);
    e.ts_ms = seconds * 1000;
    e.tz_offset_min = 0;
    e.channel = "web";
    e.type = rating_type_;
    e.item_id.assign(item);
    e.properties_json = "{\"rating\":";
    AppendNumber(e.properties_json, rating);
    e.properties_json.push_back('}');
    e.line_no = line_no;
    return true;
  }

  std::string rating_type_;
  bool first_ = true;
};

}  // namespace

std::unique_ptr<Format> MakeMovieLensFormat(const IngestConfig& config) {
  return std::make_unique<MovieLensFormat>(config);
}

}  // namespace omni::ingest
