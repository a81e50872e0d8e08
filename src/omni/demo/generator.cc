#include "omni/demo/generator.h"

#include <cmath>
#include <vector>

#include "omni/demo/calendar.h"
#include "omni/demo/catalogue.h"
#include "omni/demo/event_writer.h"
#include "omni/demo/json_out.h"
#include "omni/demo/output_file.h"
#include "omni/demo/population.h"
#include "omni/demo/random.h"
#include "omni/demo/simulator.h"

namespace omni::demo {
namespace {

Status CheckRange(const char* name, double v, double lo, double hi) {
  if (!(v >= lo && v <= hi)) {  // also rejects NaN
    return InvalidArgument(std::string("demo option ") + name + " = " + std::to_string(v) + " is outside [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return Status::Ok();
}

void AppendCountMap(std::string& out, const std::map<std::string, int64_t>& m) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, k);
    out += ':';
    AppendInt(out, v);
  }
  out += '}';
}

}  // namespace

Status DemoOptions::Validate() const {
  OMNI_RETURN_IF_ERROR(CheckRange("customers", static_cast<double>(customers), 1, 50'000'000));
  OMNI_RETURN_IF_ERROR(CheckRange("items", static_cast<double>(items), 1, 10'000'000));
  OMNI_RETURN_IF_ERROR(CheckRange("events", static_cast<double>(events), 0, 1e12));
  OMNI_RETURN_IF_ERROR(CheckRange("stores", stores, 1, 999));
  OMNI_RETURN_IF_ERROR(CheckRange("days", days, 1, 3660));
  OMNI_RETURN_IF_ERROR(CheckRange("malformed_rate", malformed_rate, 0, 0.5));
  OMNI_RETURN_IF_ERROR(CheckRange("duplicate_rate", duplicate_rate, 0, 0.5));
  OMNI_RETURN_IF_ERROR(CheckRange("shared_device_rate", shared_device_rate, 0, 0.5));
  OMNI_RETURN_IF_ERROR(CheckRange("guest_rate", guest_rate, 0, 1));
  // 1990 .. 2090: the festival calendar and RFC 3339 formatting assume it.
  OMNI_RETURN_IF_ERROR(CheckRange("start_ms", static_cast<double>(start_ms), 631152000000.0, 3786912000000.0));
  return Status::Ok();
}

DemoPaths DemoPaths::Beside(const std::string& events_path) {
  std::string stem = events_path;
  static constexpr std::string_view kExt = ".jsonl";
  if (stem.size() > kExt.size() && stem.compare(stem.size() - kExt.size(), kExt.size(), kExt) == 0) {
    stem.resize(stem.size() - kExt.size());
  }
  DemoPaths p;
  p.events = events_path;
  p.truth = stem + ".truth.csv";
  p.catalogue = stem + ".catalogue.csv";
  p.availability = stem + ".availability.csv";
  p.stores = stem + ".stores.csv";
  p.persons = stem + ".persons.csv";
  return p;
}

std::string DemoSummaryJson(const DemoSummary& s) {
  std::string out = "{";
  auto field = [&](std::string_view name, int64_t v) {
    if (out.size() > 1) out += ',';
    AppendJsonString(out, name);
    out += ':';
    AppendInt(out, v);
  };
  field("lines", s.lines);
  field("events", s.events);
  field("malformed", s.malformed);
  field("duplicates", s.duplicates);
  field("customers", s.customers);
  field("active_customers", s.active_customers);
  field("items", s.items);
  field("stores", s.stores);
  field("bytes", s.bytes);
  field("truth_rows", s.truth_rows);
  field("availability_rows", s.availability_rows);
  field("orders", s.orders);
  field("households", s.households);
  field("household_members", s.household_members);
  field("kiosk_users", s.kiosk_users);
  field("guest_checkouts", s.guest_checkouts);
  field("cookie_churns", s.cookie_churns);
  field("device_switches", s.device_switches);
  field("o2o_purchases", s.o2o_purchases);
  out += ",\"malformed_by_reason\":";
  AppendCountMap(out, s.malformed_by_reason);
  out += ",\"events_by_type\":";
  AppendCountMap(out, s.events_by_type);
  out += ",\"events_by_channel\":";
  AppendCountMap(out, s.events_by_channel);
  out += '}';
  return out;
}

StatusOr<DemoSummary> GenerateDemo(const DemoOptions& options, const DemoPaths& paths,
                                   std::function<void(int64_t done, int64_t total)> progress) {
  OMNI_RETURN_IF_ERROR(options.Validate());
  if (paths.events.empty()) return InvalidArgument("demo: no events output path");

  // One stream drives the world and the behaviour; the line noise has its own
  // (EventWriter), so the events do not shift when only noise rates change.
  Rng rng(options.seed);
  const Catalogue catalogue(options.items, options.stores, options.seed, rng);
  const int32_t hours = options.days * 24;
  PopulationOptions popts;
  popts.customers = options.customers;
  popts.hours = hours;
  popts.shared_device_rate = options.shared_device_rate;
  popts.seed = options.seed;
  Population population(popts, catalogue, rng);
  const CampaignCalendar calendar(LocalDay(options.start_ms), options.days + 1);

  DemoSummary summary;
  summary.customers = options.customers;
  summary.items = options.items;
  summary.stores = static_cast<int64_t>(catalogue.stores().size());
  if (!paths.catalogue.empty()) OMNI_RETURN_IF_ERROR(catalogue.WriteCatalogueCsv(paths.catalogue).status());
  if (!paths.availability.empty()) {
    OMNI_ASSIGN_OR_RETURN(summary.availability_rows, catalogue.WriteAvailabilityCsv(paths.availability));
  }
  if (!paths.stores.empty()) OMNI_RETURN_IF_ERROR(catalogue.WriteStoresCsv(paths.stores).status());

  // Each hour gets its share of the events by the seasonal curve (weekday,
  // festivals, time of day); cumulative rounding makes the total exact.
  std::vector<double> cumulative(static_cast<size_t>(hours) + 1, 0.0);
  for (int32_t h = 0; h < hours; ++h) {
    const int64_t t = options.start_ms + h * kHourMs;
    const int64_t day = LocalDay(t);
    const int local_hour = static_cast<int>((t + kLocalOffsetMs) / kHourMs % 24);
    cumulative[static_cast<size_t>(h) + 1] =
        cumulative[static_cast<size_t>(h)] + DayWeight(day) * HourWeight(day, local_hour);
  }

  OutputFile out;
  OMNI_RETURN_IF_ERROR(out.Open(paths.events));
  EventQueue queue(options.events, options.start_ms, hours);
  Simulator simulator(options, catalogue, population, calendar, rng, queue);
  EventWriter writer(population, catalogue, calendar, options.malformed_rate, options.duplicate_rate,
                     options.seed, out);
  constexpr int64_t kProgressStep = 1 << 18;
  int64_t next_progress = kProgressStep;
  std::vector<DemoEvent> ready;
  for (int32_t h = 0; h < hours; ++h) {
    const int64_t target =
        h + 1 == hours ? options.events
                       : std::llround(static_cast<double>(options.events) *
                                      cumulative[static_cast<size_t>(h) + 1] / cumulative.back());
    // A unit can produce nothing (every candidate asleep or out of budget);
    // give up on the hour after many empty ones rather than spin.
    for (int idle = 0; queue.pushed() < target && idle < 10000;) {
      const int64_t before = queue.pushed();
      simulator.RunUnit(h);
      idle = queue.pushed() == before ? idle + 1 : 0;
    }
    queue.TakeHour(h, ready);
    for (const DemoEvent& e : ready) OMNI_RETURN_IF_ERROR(writer.Write(e));
    if (progress && queue.pushed() >= next_progress) {
      progress(queue.pushed(), options.events);
      next_progress = queue.pushed() + kProgressStep;
    }
  }
  queue.TakeHour(hours, ready);  // arriving after the window: late uploads
  for (const DemoEvent& e : ready) OMNI_RETURN_IF_ERROR(writer.Write(e));
  OMNI_RETURN_IF_ERROR(writer.Finish());
  summary.bytes = out.bytes();
  OMNI_RETURN_IF_ERROR(out.Close());
  if (progress) progress(queue.pushed(), options.events);

  if (!paths.truth.empty()) {
    OMNI_ASSIGN_OR_RETURN(summary.truth_rows, population.WriteTruthCsv(paths.truth, catalogue));
  }
  if (!paths.persons.empty()) OMNI_RETURN_IF_ERROR(population.WritePersonsCsv(paths.persons, catalogue).status());

  summary.lines = writer.lines();
  summary.events = writer.events();
  summary.malformed = writer.malformed();
  summary.duplicates = writer.duplicates();
  for (int d = 1; d < kDefectCount; ++d) {
    const int64_t n = writer.defects()[static_cast<size_t>(d)];
    if (n > 0) summary.malformed_by_reason[std::string(DefectName(static_cast<Defect>(d)))] = n;
  }
  for (int t = 0; t < kEventTypeCount; ++t) {
    const int64_t n = writer.by_type()[static_cast<size_t>(t)];
    if (n > 0) summary.events_by_type[std::string(EventTypeName(static_cast<EventType>(t)))] = n;
  }
  for (int c = 0; c < kChannelCount; ++c) {
    const int64_t n = writer.by_channel()[static_cast<size_t>(c)];
    if (n > 0) summary.events_by_channel[std::string(ChannelName(static_cast<Channel>(c)))] = n;
  }
  summary.orders = simulator.counters().orders;
  summary.guest_checkouts = simulator.counters().guest_checkouts;
  summary.o2o_purchases = simulator.counters().o2o_purchases;
  summary.households = population.households();
  summary.household_members = population.household_members();
  for (int32_t p = 0; p < static_cast<int32_t>(population.size()); ++p) {
    const Person& ps = population.person(p);
    if (ps.events > 0) ++summary.active_customers;
    if (ps.used & kSlotKiosk) ++summary.kiosk_users;
    if (ps.used & kSlotDevice1) ++summary.device_switches;
    if (ps.cookies_used > 1) summary.cookie_churns += ps.cookies_used - 1;
  }
  return summary;
}

}  // namespace omni::demo
