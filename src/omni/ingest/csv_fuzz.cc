// libFuzzer target for the CSV splitter and every CSV-family format.
//
//   CC=clang CXX=clang++ CXXFLAGS=-fsanitize=fuzzer-no-link,address \
//     cmake -S . -B build-fuzz-csv -G Ninja -DOMNI_FUZZ=ON -DOMNI_BUILD_BENCH=OFF
//   cmake --build build-fuzz-csv --target csv_fuzz
//   ./build-fuzz-csv/src/omni/ingest/csv_fuzz -max_total_time=60
// (CXXFLAGS instruments the library too, so coverage guides the fuzzer into
// the formats and not only into this file.)
//
// Besides "no crash, no sanitizer report" it checks the contracts:
//  - SplitCsvRecord succeeding implies CsvRecordComplete, and re-encoding the
//    fields as RFC 4180 splits back to the same fields;
//  - each Parse() adds events/items/availability or exactly one rejection
//    (nothing for a blank line), and what it adds is well formed: event ids
//    and identities present, valid UTF-8, JSON objects that parse, quarantined
//    raw text at most 4 KiB.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/ingest/csv.h"
#include "omni/ingest/format.h"
#include "simdjson.h"  // to check that emitted JSON objects parse

namespace omni::ingest {
namespace {

struct FormatCase {
  const char* spec;
  const char* header;  // nullptr: the format has no header
};

constexpr FormatCase kCases[] = {
    {"csv:event_id=id,ts=ts,channel=ch,type=t,customer_id=cust,phone=phone,email=mail,item_id=item,"
     "quantity=qty,price=price,currency=cur,order_id=ord,store_id=store,campaign_id=camp,tz=+08:00",
     "id,ts,ch,t,cust,phone,mail,item,qty,price,cur,ord,store,camp"},
    {"csv:header=false,delimiter=;,ts=1,channel=const:store,type=2,member_card=3,device_id=4,price=5",
     nullptr},
    {"online-retail", "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"},
    {"retailrocket", "timestamp,visitorid,event,itemid,transactionid"},
    {"movielens", nullptr},
    {"taobao", nullptr},
    {"catalogue", "item_id,title,category,brand,price,colour,size"},
    {"availability", "item_id,channel,store_id,sold,stock"},
};
constexpr size_t kCaseCount = sizeof(kCases) / sizeof(kCases[0]);

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "contract violated: %s\n", what);
    __builtin_trap();
  }
}

bool IsJsonObjectOrEmpty(simdjson::dom::parser& parser, const std::string& text) {
  if (text.empty()) return true;
  simdjson::dom::object object;
  return parser.parse(text).get(object) == simdjson::SUCCESS;
}

std::string Encode(const std::vector<std::string>& fields, char delimiter) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(delimiter);
    const std::string& f = fields[i];
    if (f.find_first_of(std::string("\"\r\n") + delimiter) == std::string::npos) {
      out += f;
      continue;
    }
    out.push_back('"');
    for (char c : f) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }
  return out;
}

void CheckSplitter(std::string_view input) {
  static std::vector<std::string_view> fields, again;
  static std::string scratch, scratch2;
  (void)CsvRecordComplete(input);
  for (char delimiter : {',', ';', '\t'}) {
    if (!SplitCsvRecord(input, delimiter, fields, scratch).ok()) continue;
    Require(!fields.empty(), "split returned no fields");
    Require(CsvRecordComplete(input, delimiter), "split succeeded on an incomplete record");
    std::vector<std::string> copy(fields.begin(), fields.end());
    std::string encoded = Encode(copy, delimiter);
    Require(SplitCsvRecord(encoded, delimiter, again, scratch2).ok(), "re-encoded record does not split");
    Require(again.size() == copy.size(), "round trip changed the field count");
    for (size_t i = 0; i < copy.size(); ++i) Require(again[i] == copy[i], "round trip changed a field");
  }
}

void CheckBatchGrowth(const Batch& b, size_t events, size_t items, size_t availability, size_t rejected,
                      simdjson::dom::parser& parser) {
  size_t added_rejections = b.rejected.size() - rejected;
  size_t added = (b.events.size() - events) + (b.items.size() - items) + (b.availability.size() - availability);
  Require(added_rejections <= 1, "more than one rejection for one record");
  Require(added_rejections == 0 || added == 0, "a record both accepted and rejected");
  for (size_t i = events; i < b.events.size(); ++i) {
    const Event& e = b.events[i];
    Require(!e.event_id.empty(), "event without id");
    Require(!e.identities.empty(), "event without identities");
    Require(!e.channel.empty() && !e.type.empty(), "event without channel or type");
    Require(simdjson::validate_utf8(e.event_id.data(), e.event_id.size()), "event id not UTF-8");
    Require(IsJsonObjectOrEmpty(parser, e.properties_json), "properties_json is not a JSON object");
  }
  for (size_t i = items; i < b.items.size(); ++i) {
    Require(!b.items[i].item_id.empty(), "item without id");
    Require(IsJsonObjectOrEmpty(parser, b.items[i].attributes_json), "attributes_json is not a JSON object");
  }
  for (size_t i = rejected; i < b.rejected.size(); ++i) {
    Require(b.rejected[i].raw.size() <= 4096, "quarantined raw text over 4 KiB");
    Require(simdjson::validate_utf8(b.rejected[i].message.data(), b.rejected[i].message.size()) ||
                b.rejected[i].reason == RejectReason::kInvalidUtf8,
            "rejection message not UTF-8");
  }
}

// Frames `text` into records as the reader does and parses each.
void ParseRecords(Format& format, std::string_view text, bool skip_first, simdjson::dom::parser& parser) {
  Batch batch;
  std::string record;
  bool open = false;  // a quoted field continues on the next line
  bool first = true;
  int64_t line = 0;
  int64_t record_line = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    size_t len = nl == std::string_view::npos ? text.size() - pos : nl - pos;
    std::string_view line_text = text.substr(pos, len);
    bool last = nl == std::string_view::npos;
    pos = last ? text.size() + 1 : nl + 1;
    ++line;
    if (open) {
      record.push_back('\n');
    } else {
      record.clear();
      record_line = line;
    }
    record.append(line_text);
    open = format.framing() == RecordFraming::kCsvQuoted && !last && !CsvRecordComplete(record);
    if (open) continue;
    if (first && skip_first) {
      first = false;
      continue;
    }
    first = false;
    size_t e = batch.events.size(), i = batch.items.size(), a = batch.availability.size(),
           r = batch.rejected.size();
    format.Parse(record, record_line, batch);
    CheckBatchGrowth(batch, e, i, a, r, parser);
  }
}

}  // namespace
}  // namespace omni::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace omni::ingest;  // NOLINT: fuzz entry point
  static simdjson::dom::parser parser;
  static std::vector<std::unique_ptr<Format>> formats = [] {
    std::vector<std::unique_ptr<Format>> out;
    for (const FormatCase& c : kCases) {
      auto f = MakeFormat(c.spec, IngestConfig{});
      Require(f.ok(), "fuzz setup: MakeFormat failed");
      if (c.header) Require((*f)->Header(c.header).ok(), "fuzz setup: header rejected");
      out.push_back(std::move(f).value());
    }
    return out;
  }();

  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckSplitter(input);
  if (input.empty()) return 0;

  // First byte: which format, and whether the first record is a header to
  // validate (with a fresh format object) rather than data.
  unsigned char selector = static_cast<unsigned char>(input[0]);
  const FormatCase& c = kCases[selector % kCaseCount];
  std::string_view rest = input.substr(1);
  if ((selector & 0x80) && c.header) {
    auto fresh = MakeFormat(c.spec, IngestConfig{});
    size_t nl = rest.find('\n');
    std::string_view header = rest.substr(0, nl);
    if ((*fresh)->Header(header).ok()) ParseRecords(**fresh, rest, /*skip_first=*/true, parser);
    return 0;
  }
  ParseRecords(*formats[selector % kCaseCount], rest, /*skip_first=*/false, parser);
  return 0;
}
