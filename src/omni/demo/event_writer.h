// Turns DemoEvents into canonical JSON lines and plants the line-level noise
// a real export has: malformed lines (one defect each, named by the ingest
// reject reason it should earn) and duplicate deliveries of valid lines.
//
// Noise draws come from their own random stream, so the valid events do not
// depend on the noise rates except through the event_id numbers malformed
// lines take.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/demo/calendar.h"
#include "omni/demo/catalogue.h"
#include "omni/demo/demo_event.h"
#include "omni/demo/output_file.h"
#include "omni/demo/population.h"
#include "omni/demo/random.h"

namespace omni::demo {

// Line defects; Name() is the ingest RejectReason name.
enum class Defect : uint8_t {
  kNone,
  kInvalidJson,
  kInvalidUtf8,
  kUnknownChannel,
  kBadTimestamp,
  kMissingIdentities,
  kMissingField,
  kUnknownEventType,
  kInvalidIdentity,
  kWrongType,
  kNegativeQuantity,  // purchases only
  kBadNumber,         // purchases only
  kNegativePrice,     // purchases only
};
inline constexpr int kDefectCount = 13;
std::string_view DefectName(Defect d);

class EventWriter {
 public:
  EventWriter(const Population& population, const Catalogue& catalogue, const CampaignCalendar& calendar,
              double malformed_rate, double duplicate_rate, uint64_t seed, OutputFile& out);

  // Writes one valid event (and whatever noise falls due).
  Status Write(const DemoEvent& e);
  // Writes duplicates still pending.
  Status Finish();

  int64_t lines() const { return lines_; }
  int64_t events() const { return events_; }
  int64_t malformed() const { return malformed_; }
  int64_t duplicates() const { return duplicates_; }
  const std::array<int64_t, kDefectCount>& defects() const { return defects_; }
  const std::array<int64_t, kEventTypeCount>& by_type() const { return by_type_; }
  const std::array<int64_t, kChannelCount>& by_channel() const { return by_channel_; }

  // The JSON line for `e` with the given defect, without the newline.
  // Consumes an event_id number of e's source.
  void Serialize(const DemoEvent& e, Defect defect, std::string& out);

 private:
  struct PendingDuplicate {
    int64_t due_line;
    uint64_t seq;
    std::string line;
    bool operator>(const PendingDuplicate& o) const {
      return due_line != o.due_line ? due_line > o.due_line : seq > o.seq;
    }
  };
  void AppendEventId(const DemoEvent& e, std::string& out);
  std::string_view IdentityKey(const DemoEvent& e, const IdRef& r) const;
  void AppendIdentityValue(const DemoEvent& e, const IdRef& r, std::string& out) const;
  void AppendIdentities(const DemoEvent& e, std::string& out) const;
  void AppendOrderId(const DemoEvent& e, std::string& out);
  void AppendCampaignId(const DemoEvent& e, std::string& out);
  void AppendProperties(const DemoEvent& e, std::string& out);
  Status WriteLine(std::string_view line);
  Status WriteMalformed(const DemoEvent& e, Defect d);
  Status DrainDuplicates(bool all);
  Defect DrawDefect();

  const Population& population_;
  const Catalogue& catalogue_;
  const CampaignCalendar& calendar_;
  double malformed_rate_;
  double duplicate_rate_;
  Rng noise_;
  OutputFile& out_;
  TimestampFormatter ts_;
  std::string line_;
  std::vector<std::string> store_codes_;  // "SH01" for receipt numbers
  std::array<int64_t, kChannelCount> next_id_{};
  std::vector<int64_t> next_pos_id_, next_kiosk_id_;
  std::vector<Defect> pending_purchase_defects_;
  std::priority_queue<PendingDuplicate, std::vector<PendingDuplicate>, std::greater<>> duplicates_queue_;
  uint64_t dup_seq_ = 0;
  int64_t lines_ = 0, events_ = 0, malformed_ = 0, duplicates_ = 0;
  std::array<int64_t, kDefectCount> defects_{};
  std::array<int64_t, kEventTypeCount> by_type_{};
  std::array<int64_t, kChannelCount> by_channel_{};
};

}  // namespace omni::demo
