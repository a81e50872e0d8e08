// omni profiles build [--as-of DATE]
// omni segments fields | create NAME EXPR | list | export NAME | delete NAME | cluster SPEC
// omni clv fit [--calibration-end DATE] [--unit day|week] [--holdout-end DATE]
//
// Every aggregate these commands print about customers (group sizes, segment
// sizes, cluster sizes) goes through k-anonymity suppression (k_anonymity.h).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <Eigen/Core>

#include "omni/cli/commands.h"
#include "omni/cli/profile_build.h"
#include "omni/common/csv_field.h"
#include "omni/common/progress.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/timestamp.h"
#include "omni/profile/clv.h"
#include "omni/profile/clv_holdout.h"
#include "omni/profile/event_pipeline.h"
#include "omni/profile/k_anonymity.h"
#include "omni/profile/kmeans.h"
#include "omni/profile/event_source.h"
#include "omni/profile/profile_builder.h"
#include "omni/profile/profile_fields.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/scores_store.h"
#include "omni/profile/segment_expression.h"
#include "omni/profile/segment_sizing.h"
#include "omni/profile/segments_store.h"
#include "omni/serve/customer_view.h"
#include "omni/store/sqlite_sql.h"
#include "omni/store/store.h"

namespace omni::cli {
namespace {

using profile::Profile;

constexpr int64_t kDayMs = 86'400'000;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

bool IsDate(std::string_view text) {
  return text.size() == 10 && text[4] == '-' && text[7] == '-';
}

// A date means the end of that day (UTC): `--as-of 2025-06-30` includes
// everything that happened on the 30th. A full timestamp is taken as is.
StatusOr<int64_t> ParseAsOf(const std::string& text, const char* flag) {
  if (IsDate(text)) {
    auto t = ingest::ParseLocalTimestamp(text, 0);
    if (!t.ok()) return InvalidArgument(fmt::format("{} {}: {}", flag, text, t.status().message()));
    return t->ts_ms + kDayMs - 1;
  }
  auto t = ingest::ParseTimestamp(text);
  if (!t.ok()) {
    return InvalidArgument(fmt::format("{} {}: expected YYYY-MM-DD or an RFC 3339 time ({})", flag, text,
                                       t.status().message()));
  }
  return t->ts_ms;
}

// A calendar date for the CLV summary, whose days are local days: the date
// at `utc_offset_min`, any instant within it.
StatusOr<int64_t> ParseDay(const std::string& text, const char* flag, int32_t utc_offset_min) {
  if (IsDate(text)) {
    auto t = ingest::ParseLocalTimestamp(text, utc_offset_min);
    if (!t.ok()) return InvalidArgument(fmt::format("{} {}: {}", flag, text, t.status().message()));
    return t->ts_ms;
  }
  auto t = ingest::ParseTimestamp(text);
  if (!t.ok()) return InvalidArgument(fmt::format("{} {}: expected YYYY-MM-DD", flag, text));
  return t->ts_ms;
}

std::string FormatNumber(double v, int decimals = 2) {
  if (std::isnan(v)) return "-";
  return fmt::format("{:.{}f}", v, decimals);
}

// Context shared by the commands: ingest config (channels), profile store.
struct ProfileEnv {
  ingest::IngestConfig config;
  std::unique_ptr<profile::ProfileStore> profiles;
  int64_t min_group_size = profile::kDefaultMinGroupSize;
};

// Scores written back by models (omni propensity score) are segment fields
// too (propensity.purchase_90d).
StatusOr<std::shared_ptr<const profile::CustomerScores>> LoadScores(store::Sql& sql) {
  OMNI_ASSIGN_OR_RETURN(profile::ScoresStore scores, profile::ScoresStore::Over(sql));
  return scores.LoadAll();
}

StatusOr<ProfileEnv> OpenProfileEnv(const Context& ctx) {
  ProfileEnv env;
  OMNI_ASSIGN_OR_RETURN(env.config, ingest::LoadIngestConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(env.profiles, profile::ProfileStore::Open(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(env.min_group_size, profile::LoadMinGroupSize(ctx.data_dir));
  return env;
}

Status RequireProfiles(profile::ProfileStore& profiles) {
  OMNI_ASSIGN_OR_RETURN(auto build, profiles.LatestBuild());
  if (!build) return FailedPrecondition("no profiles yet: run `omni profiles build` first");
  return Status::Ok();
}

void WriteClvParams(JsonWriter& w, const profile::ProfileBuildStats& s) {
  w.BeginObject();
  if (s.clv_fitted) {
    const auto& b = s.bgnbd.params;
    w.Key("r").Double(b.r).Key("alpha").Double(b.alpha).Key("a").Double(b.a).Key("b").Double(b.b);
  }
  if (s.spend_fitted) {
    const auto& g = s.gamma_gamma.params;
    w.Key("p").Double(g.p).Key("q").Double(g.q).Key("v").Double(g.v);
  }
  if (s.clv_fitted) {
    w.Key("unit").String("day").Key("customers").Int(s.bgnbd.report.customers);
    w.Key("utc_offset_min").Int(s.clv_utc_offset_min);
  }
  if (!s.clv_note.empty()) w.Key("note").String(s.clv_note);
  w.EndObject();
}

// ---------------------------------------------------------------- profiles build

// Peak and current resident memory from /proc (Linux), for the build report:
// the store maps up to 1 GiB of the database file, which counts as resident
// but is page cache, so anonymous (heap) memory is reported beside it.
struct MemoryUse {
  double peak_rss_mb = 0;
  double rss_anon_mb = 0;
  double rss_file_mb = 0;
};

MemoryUse ReadMemoryUse() {
  MemoryUse m;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return m;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    long kb = 0;
    if (std::sscanf(line, "VmHWM: %ld", &kb) == 1) m.peak_rss_mb = kb / 1024.0;
    if (std::sscanf(line, "RssAnon: %ld", &kb) == 1) m.rss_anon_mb = kb / 1024.0;
    if (std::sscanf(line, "RssFile: %ld", &kb) == 1) m.rss_file_mb = kb / 1024.0;
  }
  std::fclose(f);
  return m;
}


}  // namespace

StatusOr<ProfileBuildOutcome> ComputeProfiles(const Context& ctx, const BuildFlags& flags) {
  const auto start = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(ProfileEnv env, OpenProfileEnv(ctx));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> id_sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> id_sql_half, store::OpenSqliteSql(ctx.data_dir));

  // Identity first, so the events imported since the last run have customers.
  auto t = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(identity::ResolveStats resolved, identity::Resolve(*store, *id_sql, id_config));
  const double resolve_s = Seconds(t);
  // The directory (a second of a 10M-event build) loads on its own
  // connection and thread while this one reads the catalogue and opens the
  // columnar snapshot. On an early return the future's destructor waits for
  // the load, so nothing it uses goes away under it.
  double directory_s = 0;
  using Directory = std::unique_ptr<identity::CustomerDirectory>;
  std::future<StatusOr<Directory>> loading = std::async(
      std::launch::async, [&, directory_start = std::chrono::steady_clock::now()]() -> StatusOr<Directory> {
        // Events are attributed through the snapshot's identifiers
        // (profile::ColumnAttribution), so the value maps behind CustomerOf,
        // most of a load, are built only for --export-events.
        identity::DirectoryOptions directory_options;
        directory_options.value_index = !flags.export_events.empty();
        directory_options.second_connection = id_sql_half.get();
        auto loaded = identity::LoadDirectory(*id_sql, id_config, directory_options);
        directory_s = Seconds(directory_start);
        return loaded;
      });
  // The events from the columnar snapshot (caught up from the store first),
  // which also counts them: the store's row count is a scan of its own.
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::EventColumns> columns, store::EventColumns::Open(ctx.data_dir, *store));
  if (columns->rows() == 0) return FailedPrecondition("no events in " + ctx.data_dir + ": run `omni import` first");
  // What attribution needs from the snapshot alone (a tenth of a second at
  // 10M events), on a thread of its own while this one reads the catalogue,
  // waits for the directory and sets up the builder. Declared after
  // `columns`, so on an early return its destructor waits for it first.
  std::future<std::vector<int64_t>> first_seqs_future =
      std::async(std::launch::async, [&columns] { return profile::IdentityFirstSeqs(*columns); });
  profile::ProfileOptions options;
  options.channels = env.config.channels;
  options.strong_types = id_config.strong;
  options.expected_events = columns->rows();
  if (flags.as_of.empty()) {
    OMNI_ASSIGN_OR_RETURN(auto bounds, store->EventTimeBounds());
    options.as_of_ms = bounds.second;
  } else {
    OMNI_ASSIGN_OR_RETURN(options.as_of_ms, ParseAsOf(flags.as_of, "--as-of"));
  }
  std::vector<ingest::Item> items;
  OMNI_RETURN_IF_ERROR(store->ScanItems([&](const ingest::Item& item) {
    items.push_back(item);
    return true;
  }));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<identity::CustomerDirectory> directory, loading.get());
  spdlog::info("identity: {} customers ({} events resolved in {:.2f} s; directory loaded in {:.2f} s)",
               directory->customer_count(), resolved.events_read, resolve_s, directory_s);

  profile::ProfileBuilder builder(*directory, options);
  t = std::chrono::steady_clock::now();
  for (const ingest::Item& item : items) builder.AddItem(item);
  const int64_t last_seq = columns->last_seq();
  spdlog::info("events: {} in the columnar snapshot ({} caught up from the store), opened in {:.2f} s",
               columns->rows(), columns->open_stats().rows_caught_up, columns->open_stats().seconds);
  const std::vector<int64_t> first_seqs = first_seqs_future.get();
  builder.AddEvents(*columns, &first_seqs);
  if (!flags.export_events.empty()) {
    // For checking the profiles with another tool (bench/profile_reference.py):
    // every event the build uses, with the customer it was attributed to.
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> exported(std::fopen(flags.export_events.c_str(), "wb"),
                                                             &std::fclose);
    if (!exported) return Internal("cannot write " + flags.export_events);
    std::fputs("customer_key,seq,ts_ms,channel,type,item_id,quantity,price,order_key\n", exported.get());
    std::string line;
    ingest::Event e;
    for (const store::EventColumnBlock& b : columns->blocks()) {
      for (int64_t row = 0; row < b.rows; ++row) {
        const int64_t seq = b.seq[row];
        columns->ToEvent(b, row, e);
        if (e.ts_ms > options.as_of_ms) continue;
        std::optional<int32_t> c = directory->CustomerOfEvent(e);
        if (!c) continue;
        line.clear();
        line += directory->CustomerKey(*c);
        line += fmt::format(",{},{},", seq, e.ts_ms);
        AppendCsvField(line, e.channel);
        line.push_back(',');
        AppendCsvField(line, e.type);
        line.push_back(',');
        AppendCsvField(line, e.item_id);
        line.push_back(',');
        if (e.quantity) line += fmt::format("{}", *e.quantity);
        line.push_back(',');
        if (e.price) line += fmt::format("{}", *e.price);
        line.push_back(',');
        // The order as the build counts it: order_id, or the event itself.
        if (e.order_id.empty()) {
          line += fmt::format("#{}", seq);
        } else {
          AppendCsvField(line, e.order_id);
        }
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), exported.get());
      }
    }
  }
  const double scan_s = Seconds(t);
  t = std::chrono::steady_clock::now();
  OMNI_RETURN_IF_ERROR(builder.Finish());
  const double compute_s = Seconds(t);
  const profile::ProfileBuildStats& s = builder.stats();

  profile::ProfileBuildInfo info;
  info.as_of_ms = options.as_of_ms;
  info.buyers = s.buyers;
  info.events_used = s.events_used;
  info.last_seq = last_seq;
  info.names = builder.Names();
  {
    JsonWriter clv;
    WriteClvParams(clv, s);
    info.clv_json = clv.Take();
  }
  std::array<std::atomic<int64_t>, profile::kRfmGroupCount> group_counts{};
  t = std::chrono::steady_clock::now();
  // Assembling and encoding the profiles is most of the write phase's CPU:
  // two threads do it, in parts of this many dense ids, beside the one
  // inserting.
  constexpr int32_t kCustomersPerPart = 8192;
  const int32_t slots = builder.customer_slots();
  const int64_t parts = std::max<int64_t>(1, (static_cast<int64_t>(slots) + kCustomersPerPart - 1) / kCustomersPerPart);
  auto produce_part = [&](int64_t part, const profile::ProfileStore::ProfileWriter& write) {
    const auto begin = static_cast<int32_t>(part * kCustomersPerPart);
    return builder.Emit(begin, begin + kCustomersPerPart, [&](const Profile& p) {
      group_counts[static_cast<size_t>(p.rfm_group)].fetch_add(1, std::memory_order_relaxed);
      return write(p);
    });
  };
  OMNI_ASSIGN_OR_RETURN(int64_t build_id, env.profiles->ReplaceProfiles(info, parts, 2, produce_part));
  std::array<int64_t, profile::kRfmGroupCount> groups{};
  for (size_t g = 0; g < groups.size(); ++g) groups[g] = group_counts[g].load();
  ProfileBuildOutcome out;
  out.write_s = Seconds(t);
  out.total_s = Seconds(start);
  out.resolve_s = resolve_s;
  out.directory_s = directory_s;
  out.scan_s = scan_s;
  out.compute_s = compute_s;
  out.build_id = build_id;
  out.as_of_ms = options.as_of_ms;
  out.stats = s;
  out.groups = groups;
  out.min_group_size = env.min_group_size;
  spdlog::info("profiles: {} events read in {:.2f} s ({}/s), computed in {:.2f} s, written in {:.2f} s",
               s.events_read, scan_s, HumanCount(s.events_read / std::max(1e-9, scan_s)), compute_s, out.write_s);
  return out;
}

void WriteProfileBuildJson(JsonWriter& w, const ProfileBuildOutcome& o) {
  const profile::ProfileBuildStats& s = o.stats;
  const int64_t k = o.min_group_size;
  w.BeginObject();
  w.Key("build_id").Int(o.build_id);
  w.Key("as_of").String(ingest::FormatTimestamp(o.as_of_ms, 0)).Key("as_of_ms").Int(o.as_of_ms);
  w.Key("customers").Int(s.customers).Key("identified").Int(s.identified).Key("buyers").Int(s.buyers);
  w.Key("orders").Int(s.orders);
  w.Key("events_read").Int(s.events_read).Key("events_used").Int(s.events_used);
  w.Key("events_unattributed").Int(s.events_unattributed).Key("events_after_as_of").Int(s.events_after_as_of);
  w.Key("consent_events_invalid").Int(s.consent_events_invalid);
  w.Key("rfm_groups").BeginObject();
  for (int g = 1; g < profile::kRfmGroupCount; ++g) {
    w.Key(profile::RfmGroupName(static_cast<profile::RfmGroup>(g)));
    if (profile::Suppressed(o.groups[static_cast<size_t>(g)], k)) {
      w.Null();
    } else {
      w.Int(o.groups[static_cast<size_t>(g)]);
    }
  }
  w.EndObject();
  w.Key("min_group_size").Int(k);
  w.Key("clv");
  WriteClvParams(w, s);
  w.Key("seconds").BeginObject();
  w.Key("resolve").Double(o.resolve_s).Key("directory").Double(o.directory_s).Key("scan").Double(o.scan_s);
  w.Key("compute").Double(o.compute_s).Key("write").Double(o.write_s).Key("total").Double(o.total_s);
  w.Key("compute_sort").Double(s.sort_seconds).Key("compute_rfm").Double(s.rfm_seconds);
  w.Key("compute_clv").Double(s.clv_seconds);
  w.EndObject();
  const MemoryUse mem = ReadMemoryUse();
  w.Key("memory_mb").BeginObject().Key("peak_rss").Double(mem.peak_rss_mb);
  w.Key("rss_anonymous").Double(mem.rss_anon_mb).Key("rss_file_mapped").Double(mem.rss_file_mb).EndObject();
  w.Key("events_per_second").Double(s.events_read / std::max(1e-9, o.total_s));
  w.EndObject();
}

void PrintProfileBuildTable(const ProfileBuildOutcome& o) {
  const profile::ProfileBuildStats& s = o.stats;
  const int64_t k = o.min_group_size;
  Table tbl({"profiles", fmt::format("build {} as of {}", o.build_id, ingest::FormatTimestamp(o.as_of_ms, 0))});
  tbl.AddRow({"customers", fmt::format("{} ({} identified, {} buyers)", s.customers, s.identified, s.buyers)});
  tbl.AddRow({"orders", std::to_string(s.orders)});
  tbl.AddRow({"events read", std::to_string(s.events_read)});
  if (s.events_after_as_of > 0) tbl.AddRow({"  after the as-of (ignored)", std::to_string(s.events_after_as_of)});
  if (s.events_unattributed > 0) {
    tbl.AddRow({"  without a customer (shared ids only)", std::to_string(s.events_unattributed)});
  }
  if (s.consent_events_invalid > 0) {
    tbl.AddRow({"  consent without channel/granted", std::to_string(s.consent_events_invalid)});
  }
  if (s.clv_fitted) {
    const auto& b = s.bgnbd.params;
    tbl.AddRow({"BG/NBD (days)", fmt::format("r={:.6g} alpha={:.6g} a={:.6g} b={:.6g}", b.r, b.alpha, b.a, b.b)});
  }
  if (s.spend_fitted) {
    const auto& g = s.gamma_gamma.params;
    tbl.AddRow({"Gamma-Gamma", fmt::format("p={:.6g} q={:.6g} v={:.6g}", g.p, g.q, g.v)});
  }
  if (!s.clv_note.empty()) tbl.AddRow({"CLV", s.clv_note});
  tbl.AddRow({"time", fmt::format("{:.2f} s (resolve {:.2f}, directory {:.2f}, scan {:.2f}, compute {:.2f}, "
                                  "write {:.2f}); {} events/s",
                                  o.total_s, o.resolve_s, o.directory_s, o.scan_s, o.compute_s, o.write_s,
                                  HumanCount(s.events_read / std::max(1e-9, o.total_s)))});
  const MemoryUse mem = ReadMemoryUse();
  tbl.AddRow({"memory", fmt::format("peak RSS {:.0f} MB (now: {:.0f} MB heap, {:.0f} MB of mapped database pages)",
                                    mem.peak_rss_mb, mem.rss_anon_mb, mem.rss_file_mb)});
  tbl.Print();
  std::printf("\nRFM groups; %s:\n", profile::SuppressionNote(k).c_str());
  Table g({"group", "customers", "who"});
  for (int i = 1; i < profile::kRfmGroupCount; ++i) {
    const auto group = static_cast<profile::RfmGroup>(i);
    g.AddRow({std::string(profile::RfmGroupName(group)), profile::ShownCount(o.groups[static_cast<size_t>(i)], k),
              std::string(profile::RfmGroupDescription(group))});
  }
  g.AddRow({"(no purchase)", profile::ShownCount(o.groups[0], k), "visitors and members who have not bought"});
  g.Print();
}

namespace {

Status BuildProfiles(const Context& ctx, const BuildFlags& flags) {
  OMNI_ASSIGN_OR_RETURN(ProfileBuildOutcome o, ComputeProfiles(ctx, flags));
  if (ctx.json()) {
    JsonWriter w;
    WriteProfileBuildJson(w, o);
    PrintJson(w);
  } else {
    PrintProfileBuildTable(o);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- segments

struct Segment {
  profile::SegmentDefinition definition;
  std::optional<profile::SegmentExpression> expression;
  std::string error;  // the stored expression no longer parses (fields changed)
  int64_t size = 0;
};

// Sizes every segment in one pass over the profiles (profile/segment_sizing.h).
Status SizeSegments(profile::ProfileStore& profiles, const profile::ProfileFields& fields,
                    std::vector<Segment>& segments, int64_t* total) {
  std::vector<const profile::SegmentExpression*> expressions;
  for (const Segment& s : segments) expressions.push_back(s.expression ? &*s.expression : nullptr);
  OMNI_ASSIGN_OR_RETURN(profile::SegmentSizes sized, profile::SizeSegments(profiles, fields, expressions));
  for (size_t i = 0; i < segments.size(); ++i) segments[i].size = sized.sizes[i];
  *total = sized.profiles;
  return Status::Ok();
}

StatusOr<Segment> LoadSegment(store::Sql& sql, const profile::ProfileFields& fields, const std::string& name) {
  OMNI_ASSIGN_OR_RETURN(profile::SegmentStore segments, profile::SegmentStore::Over(sql));
  OMNI_ASSIGN_OR_RETURN(auto def, segments.Get(name));
  if (!def) return NotFound("no segment named '" + name + "' (omni segments list)");
  Segment s;
  s.definition = *def;
  OMNI_ASSIGN_OR_RETURN(s.expression, profile::SegmentExpression::Parse(def->expression, fields.catalog()));
  return s;
}

Status SegmentFields(const Context& ctx) {
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(ctx.data_dir));
  std::shared_ptr<const profile::CustomerScores> scores;
  if (std::filesystem::exists(std::filesystem::path(ctx.data_dir) / "omni.db")) {
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
    OMNI_ASSIGN_OR_RETURN(scores, LoadScores(*sql));
  }
  profile::ProfileFields fields(config.channels, scores);
  const profile::FieldCatalog& c = fields.catalog();
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("fields").BeginArray();
    for (int i = 0; i < c.size(); ++i) {
      w.BeginObject().Key("name").String(c.field(i).name);
      w.Key("type").String(profile::FieldTypeName(c.field(i).type));
      w.Key("description").String(c.field(i).description).EndObject();
    }
    w.EndArray().EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  Table t({"field", "type", "description"});
  for (int i = 0; i < c.size(); ++i) {
    t.AddRow({c.field(i).name, std::string(profile::FieldTypeName(c.field(i).type)), c.field(i).description});
  }
  t.Print();
  std::printf("\nExample: omni segments create vip_sms 'rfm.recency >= 4 and \"store\" in channels and clv.12m > 500 "
              "and consent.sms'\n");
  return Status::Ok();
}

struct CreateFlags {
  std::string name;
  std::string expression;
  std::string description;
  bool replace = false;
};

Status CreateSegment(const Context& ctx, const CreateFlags& flags) {
  OMNI_RETURN_IF_ERROR(profile::ValidateSegmentName(flags.name));
  OMNI_ASSIGN_OR_RETURN(ProfileEnv env, OpenProfileEnv(ctx));
  OMNI_ASSIGN_OR_RETURN(auto scores, LoadScores(env.profiles->sql()));
  profile::ProfileFields fields(env.config.channels, scores);
  OMNI_ASSIGN_OR_RETURN(profile::SegmentExpression expr,
                        profile::SegmentExpression::Parse(flags.expression, fields.catalog()));
  OMNI_ASSIGN_OR_RETURN(profile::SegmentStore segments, profile::SegmentStore::Over(env.profiles->sql()));
  profile::SegmentDefinition def;
  def.name = flags.name;
  def.expression = expr.ToString();
  def.description = flags.description;
  OMNI_RETURN_IF_ERROR(segments.Save(def, flags.replace));
  // Size it now if there are profiles, so the marketer sees what they made.
  std::vector<Segment> one(1);
  one[0].definition = def;
  one[0].expression = expr;
  int64_t total = 0;
  OMNI_ASSIGN_OR_RETURN(auto build, env.profiles->LatestBuild());
  if (build) OMNI_RETURN_IF_ERROR(SizeSegments(*env.profiles, fields, one, &total));
  const int64_t k = env.min_group_size;
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("name").String(def.name).Key("expression").String(def.expression);
    w.Key("size");
    if (!build || profile::Suppressed(one[0].size, k)) {
      w.Null();
    } else {
      w.Int(one[0].size);
    }
    w.Key("size_suppressed").Bool(build && profile::Suppressed(one[0].size, k));
    w.Key("min_group_size").Int(k).EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  std::printf("segment %s: %s\n", def.name.c_str(), def.expression.c_str());
  if (build) {
    std::printf("size: %s of %lld customers%s\n", profile::ShownCount(one[0].size, k).c_str(),
                static_cast<long long>(total),
                profile::Suppressed(one[0].size, k) ? (" (" + profile::SuppressionNote(k) + ")").c_str() : "");
  } else {
    std::printf("size: unknown until `omni profiles build`\n");
  }
  return Status::Ok();
}

Status ListSegments(const Context& ctx) {
  OMNI_ASSIGN_OR_RETURN(ProfileEnv env, OpenProfileEnv(ctx));
  OMNI_ASSIGN_OR_RETURN(auto scores, LoadScores(env.profiles->sql()));
  profile::ProfileFields fields(env.config.channels, scores);
  OMNI_ASSIGN_OR_RETURN(profile::SegmentStore store, profile::SegmentStore::Over(env.profiles->sql()));
  OMNI_ASSIGN_OR_RETURN(auto defs, store.List());
  std::vector<Segment> segments(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    segments[i].definition = defs[i];
    auto expr = profile::SegmentExpression::Parse(defs[i].expression, fields.catalog());
    if (expr.ok()) {
      segments[i].expression = *expr;
    } else {
      segments[i].error = expr.status().message();
    }
  }
  OMNI_ASSIGN_OR_RETURN(auto build, env.profiles->LatestBuild());
  int64_t total = 0;
  if (build) OMNI_RETURN_IF_ERROR(SizeSegments(*env.profiles, fields, segments, &total));
  const int64_t k = env.min_group_size;
  bool any_suppressed = false;
  for (const Segment& s : segments) any_suppressed = any_suppressed || (build && profile::Suppressed(s.size, k));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("segments").BeginArray();
    for (const Segment& s : segments) {
      w.BeginObject().Key("name").String(s.definition.name).Key("expression").String(s.definition.expression);
      w.Key("description").String(s.definition.description);
      const bool suppressed = build && profile::Suppressed(s.size, k);
      w.Key("size");
      if (!build || suppressed || !s.expression) {
        w.Null();
      } else {
        w.Int(s.size);
      }
      w.Key("size_suppressed").Bool(suppressed);
      if (!s.error.empty()) w.Key("error").String(s.error);
      w.EndObject();
    }
    w.EndArray();
    w.Key("customers").Int(total).Key("min_group_size").Int(k);
    w.Key("profiles_as_of");
    if (build) {
      w.String(ingest::FormatTimestamp(build->as_of_ms, 0));
    } else {
      w.Null();
    }
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  if (segments.empty()) {
    std::printf("no segments yet: omni segments create NAME EXPR (fields: omni segments fields)\n");
    return Status::Ok();
  }
  Table t({"segment", "size", "expression"});
  for (const Segment& s : segments) {
    std::string size = !build ? "?" : (!s.expression ? "error" : profile::ShownCount(s.size, k));
    t.AddRow({s.definition.name, size, s.definition.expression});
  }
  t.Print();
  if (build) {
    std::printf("\n%lld customers in the profiles as of %s.", static_cast<long long>(total),
                ingest::FormatTimestamp(build->as_of_ms, 0).c_str());
    if (any_suppressed) std::printf(" Sizes shown as <%lld: %s.", static_cast<long long>(k), profile::SuppressionNote(k).c_str());
    std::printf("\n");
  } else {
    std::printf("\nsizes unknown until `omni profiles build`\n");
  }
  for (const Segment& s : segments) {
    if (!s.error.empty()) std::printf("segment %s no longer parses: %s\n", s.definition.name.c_str(), s.error.c_str());
  }
  return Status::Ok();
}

struct ExportFlags {
  std::string name;
  std::string as = "keys";
  std::string channel;
  std::string out;
};

// Which stored identifier a channel's provider can address a person by.
StatusOr<ingest::IdentityType> AddressOf(const std::string& channel) {
  if (channel == "sms" || channel == "callcenter") return ingest::IdentityType::kPhone;
  if (channel == "email") return ingest::IdentityType::kEmail;
  if (channel == "social" || channel == "miniprogram") return ingest::IdentityType::kSocialId;
  if (channel == "app") return ingest::IdentityType::kDeviceId;
  return InvalidArgument("--channel " + channel +
                         ": no identifier reaches a person there (sms, callcenter: phone hash; email: e-mail "
                         "hash; social, miniprogram: social_id; app: device_id)");
}

// Every profile of the latest build, one JSON object a line
// ({"customer_key": ..., "profile": {...}}, the profile as `customers show
// --format json` gives it): the stored detail is binary, so this is how a
// data team takes whole profiles into its own tools.
Status ExportProfiles(const Context& ctx, const std::string& out_path) {
  OMNI_ASSIGN_OR_RETURN(ProfileEnv env, OpenProfileEnv(ctx));
  OMNI_RETURN_IF_ERROR(RequireProfiles(*env.profiles));
  OMNI_ASSIGN_OR_RETURN(std::optional<profile::ProfileBuildInfo> build, env.profiles->LatestBuild());
  const int64_t as_of_ms = build ? build->as_of_ms : 0;
  // Written next to the target and renamed over it at the end: a failed
  // export never leaves half a file under the name asked for.
  const std::string partial = out_path + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) return Internal("cannot write " + partial);
  int64_t count = 0;
  OMNI_RETURN_IF_ERROR(env.profiles->ScanProfiles([&](const Profile& p) {
    JsonWriter w;
    w.BeginObject().Key("customer_key").String(p.customer_key).Key("profile");
    serve::WriteProfileJson(w, p, as_of_ms);
    w.EndObject();
    out << w.Take() << '\n';
    ++count;
    return static_cast<bool>(out);
  }));
  out.close();
  if (!out) return Internal("cannot write " + partial);
  std::error_code ec;
  std::filesystem::rename(partial, out_path, ec);
  if (ec) return Internal("cannot rename " + partial + " to " + out_path + ": " + ec.message());
  spdlog::info("profiles: {} exported to {}", count, out_path);
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("profiles").Int(count).Key("out").String(out_path).EndObject();
    PrintJson(w);
  } else {
    std::printf("%lld profiles written to %s\n", static_cast<long long>(count), out_path.c_str());
  }
  return Status::Ok();
}

Status ExportSegment(const Context& ctx, const ExportFlags& flags) {
  const bool hashes = flags.as == "channel-hashes";
  if (hashes && flags.channel.empty()) return InvalidArgument("--as channel-hashes needs --channel (e.g. sms)");
  ingest::IdentityType address = ingest::IdentityType::kPhone;
  if (hashes) {
    OMNI_ASSIGN_OR_RETURN(address, AddressOf(flags.channel));
  }
  OMNI_ASSIGN_OR_RETURN(ProfileEnv env, OpenProfileEnv(ctx));
  OMNI_RETURN_IF_ERROR(RequireProfiles(*env.profiles));
  OMNI_ASSIGN_OR_RETURN(auto scores, LoadScores(env.profiles->sql()));
  profile::ProfileFields fields(env.config.channels, scores);
  OMNI_ASSIGN_OR_RETURN(Segment segment, LoadSegment(env.profiles->sql(), fields, flags.name));

  std::unique_ptr<identity::CustomerDirectory> directory;
  if (hashes) {
    OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
    OMNI_ASSIGN_OR_RETURN(directory, identity::LoadDirectory(env.profiles->sql(), id_config));
  }
  std::vector<std::string> values;
  int64_t members = 0, no_consent = 0, no_identifier = 0;
  profile::ProfileFields::Row row(fields);
  OMNI_RETURN_IF_ERROR(env.profiles->ScanProfiles([&](const Profile& p) {
    row.Reset(&p);
    if (!segment.expression->Matches(row)) return true;
    ++members;
    if (!hashes) {
      values.push_back(p.customer_key);
      return true;
    }
    // Only people who said yes to this channel, latest consent event.
    const profile::ConsentState* consent = p.ConsentFor(flags.channel);
    if (!consent || !consent->granted) {
      ++no_consent;
      return true;
    }
    std::optional<int32_t> dense = directory->DenseIdOfKey(p.customer_key);
    bool any = false;
    if (dense) {
      for (const ingest::Identity& id : directory->IdentifiersOf(*dense)) {
        if (id.type != address) continue;
        values.push_back(id.value);
        any = true;
      }
    }
    if (!any) ++no_identifier;
    return true;
  }));
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());

  if (!flags.out.empty()) {
    std::ofstream out(flags.out, std::ios::binary | std::ios::trunc);
    for (const std::string& v : values) out << v << '\n';
    out.close();
    if (!out) return Internal("cannot write " + flags.out);
  }
  const int64_t k = env.min_group_size;
  spdlog::info("segment {}: {} members, {} exported{}", flags.name, profile::ShownCount(members, k),
               profile::ShownCount(static_cast<int64_t>(values.size()), k),
               hashes ? fmt::format(" ({} without {} consent, {} without a {})", profile::ShownCount(no_consent, k),
                                    flags.channel, profile::ShownCount(no_identifier, k),
                                    ingest::IdentityTypeName(address))
                      : "");
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("segment").String(flags.name).Key("as").String(flags.as);
    if (hashes) w.Key("channel").String(flags.channel).Key("identifier").String(ingest::IdentityTypeName(address));
    w.Key("count").Int(static_cast<int64_t>(values.size()));
    if (flags.out.empty()) {
      w.Key("values").BeginArray();
      for (const std::string& v : values) w.String(v);
      w.EndArray();
    } else {
      w.Key("out").String(flags.out);
    }
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  if (flags.out.empty()) {
    std::string text;
    for (const std::string& v : values) (text += v) += '\n';
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    std::printf("%zu values written to %s\n", values.size(), flags.out.c_str());
  }
  return Status::Ok();
}

Status DeleteSegment(const Context& ctx, const std::string& name) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<profile::ProfileStore> profiles, profile::ProfileStore::Open(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(profile::SegmentStore segments, profile::SegmentStore::Over(profiles->sql()));
  OMNI_RETURN_IF_ERROR(segments.Delete(name));
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("deleted").String(name).EndObject();
    PrintJson(w);
  } else {
    std::printf("segment %s deleted\n", name.c_str());
  }
  return Status::Ok();
}

// k-means on the buyers' profile features. Spend, order counts and CLV are
// heavily right-skewed (a few customers spend 100x the median), so they are
// clustered as log1p, which keeps the biggest spenders from being clusters of
// their own; centroids are then reported as each cluster's mean in original
// units.
Status ClusterSegments(const Context& ctx, const std::string& spec) {
  OMNI_ASSIGN_OR_RETURN(profile::KMeansOptions options, profile::KMeansOptions::Parse(spec));
  OMNI_ASSIGN_OR_RETURN(ProfileEnv env, OpenProfileEnv(ctx));
  OMNI_RETURN_IF_ERROR(RequireProfiles(*env.profiles));
  // Which features exist: CLV only when fitted; mix for channels used by anyone.
  // Channels that carry at least 2% of the buyers' events on average: a
  // channel almost nobody uses adds a dimension that only separates a handful.
  bool have_clv = false;
  std::map<std::string, double> share_sum;
  int64_t buyers = 0;
  OMNI_RETURN_IF_ERROR(env.profiles->ScanProfiles([&](const Profile& p) {
    if (p.frequency == 0) return true;
    ++buyers;
    have_clv = have_clv || !std::isnan(p.clv_12m);
    for (const auto& c : p.channels) share_sum[c.channel] += c.event_share;
    return true;
  }));
  std::vector<std::string> mix_channels;
  for (const auto& [channel, sum] : share_sum) {
    if (sum >= 0.02 * static_cast<double>(buyers)) mix_channels.push_back(channel);
  }
  std::vector<std::string> names = {"recency_days", "frequency", "monetary"};
  if (have_clv) names.push_back("clv.12m");
  for (const auto& c : mix_channels) names.push_back("mix." + c + ".events");
  const size_t d = names.size();
  std::vector<double> raw;
  std::vector<double> transformed;
  int64_t rows = 0;
  OMNI_RETURN_IF_ERROR(env.profiles->ScanProfiles([&](const Profile& p) {
    if (p.frequency == 0 || (have_clv && std::isnan(p.clv_12m))) return true;
    std::vector<double> v = {p.recency_days, static_cast<double>(p.frequency), p.monetary};
    if (have_clv) v.push_back(p.clv_12m);
    for (const auto& c : mix_channels) {
      double share = 0;
      for (const auto& a : p.channels) {
        if (a.channel == c) share = a.event_share;
      }
      v.push_back(share);
    }
    for (size_t j = 0; j < d; ++j) {
      raw.push_back(v[j]);
      const bool skewed = j >= 1 && j <= (have_clv ? 3u : 2u);
      transformed.push_back(skewed ? std::log1p(std::max(0.0, v[j])) : v[j]);
    }
    ++rows;
    return true;
  }));
  if (rows < options.k) {
    return FailedPrecondition(fmt::format("k-means: {} buyers with complete features, fewer than k = {}", rows, options.k));
  }
  Eigen::MatrixXd features(rows, static_cast<Eigen::Index>(d));
  for (int64_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < d; ++j) features(i, static_cast<Eigen::Index>(j)) = transformed[static_cast<size_t>(i) * d + j];
  }
  OMNI_ASSIGN_OR_RETURN(profile::KMeansResult result, profile::FitKMeans(features, options, names));
  // Centroids in original units: per-cluster means of the raw values.
  Eigen::MatrixXd centroids = Eigen::MatrixXd::Zero(options.k, static_cast<Eigen::Index>(d));
  for (int64_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < d; ++j) {
      centroids(result.labels[static_cast<size_t>(i)], static_cast<Eigen::Index>(j)) += raw[static_cast<size_t>(i) * d + j];
    }
  }
  for (int c = 0; c < options.k; ++c) {
    if (result.cluster_sizes[static_cast<size_t>(c)] > 0) {
      centroids.row(c) /= static_cast<double>(result.cluster_sizes[static_cast<size_t>(c)]);
    }
  }
  const int64_t k = env.min_group_size;
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject().Key("spec").String(options.ToSpec()).Key("rows").Int(rows);
    w.Key("features").BeginArray();
    for (const auto& n : names) w.String(n);
    w.EndArray();
    w.Key("clusters").BeginArray();
    for (int c = 0; c < options.k; ++c) {
      const int64_t size = result.cluster_sizes[static_cast<size_t>(c)];
      const bool suppressed = profile::Suppressed(size, k);
      w.BeginObject().Key("cluster").Int(c).Key("size");
      if (suppressed) {
        w.Null();
      } else {
        w.Int(size);
      }
      w.Key("size_suppressed").Bool(suppressed);
      // A centroid of fewer than k customers is itself an aggregate of few people.
      w.Key("centroid");
      if (suppressed) {
        w.Null();
      } else {
        w.BeginObject();
        for (size_t j = 0; j < d; ++j) w.Key(names[j]).Double(centroids(c, static_cast<Eigen::Index>(j)));
        w.EndObject();
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("silhouette").Double(result.silhouette).Key("silhouette_exact").Bool(result.silhouette_exact);
    w.Key("silhouette_rows").Int(result.silhouette_rows);
    w.Key("inertia").Double(result.inertia).Key("iterations").Int(result.iterations);
    w.Key("converged").Bool(result.converged).Key("min_group_size").Int(k);
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  std::vector<std::string> header = {"cluster", "size"};
  for (const auto& n : names) header.push_back(n);
  Table t(header);
  bool any_suppressed = false;
  for (int c = 0; c < options.k; ++c) {
    const int64_t size = result.cluster_sizes[static_cast<size_t>(c)];
    const bool suppressed = profile::Suppressed(size, k);
    any_suppressed = any_suppressed || suppressed;
    std::vector<std::string> r = {std::to_string(c), profile::ShownCount(size, k)};
    for (size_t j = 0; j < d; ++j) {
      const int decimals = names[j].rfind("mix.", 0) == 0 ? 3 : (j == 1 ? 2 : 1);
      r.push_back(suppressed ? "-" : FormatNumber(centroids(c, static_cast<Eigen::Index>(j)), decimals));
    }
    t.AddRow(r);
  }
  std::printf("k-means over %lld buyers (%s); centroids are cluster means in original units\n\n",
              static_cast<long long>(rows), options.ToSpec().c_str());
  t.Print();
  std::printf("\nsilhouette %.3f (%s over %lld rows); inertia %.1f after %d iterations%s\n", result.silhouette,
              result.silhouette_exact ? "exact" : "sampled", static_cast<long long>(result.silhouette_rows),
              result.inertia, result.iterations, result.converged ? "" : " (not converged)");
  std::printf("features: recency_days as is; frequency, monetary%s as log1p; event share of each channel with "
              ">= 2%% of the buyers' events on average; all standardised\n",
              have_clv ? ", clv.12m" : "");
  if (any_suppressed) std::printf("%s\n", profile::SuppressionNote(k).c_str());
  return Status::Ok();
}

// ---------------------------------------------------------------- clv fit

struct ClvFlags {
  std::string calibration_end;
  std::string unit = "day";
  std::string holdout_end;
};

Status FitClv(const Context& ctx, const ClvFlags& flags) {
  OMNI_ASSIGN_OR_RETURN(profile::TimeUnit unit, profile::ParseTimeUnit(flags.unit));
  if (!flags.holdout_end.empty() && flags.calibration_end.empty()) {
    return InvalidArgument("--holdout-end needs --calibration-end (the holdout is the period between them)");
  }
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::Store::OpenSqlite(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(ctx.data_dir));
  OMNI_RETURN_IF_ERROR(identity::Resolve(*store, *sql, id_config).status());
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<identity::CustomerDirectory> directory,
                        identity::LoadDirectory(*sql, id_config));
  const auto n = static_cast<size_t>(directory->customer_count());

  // Purchases of identified customers (see ProfileOptions::strong_types: an
  // anonymous guest checkout is not a customer whose lifetime can be modelled).
  std::array<bool, ingest::kIdentityTypeCount> strong{};
  for (ingest::IdentityType t : id_config.strong) strong[static_cast<size_t>(t)] = true;
  struct Purchase {
    int32_t customer;
    int64_t ts_ms;
    double amount;
  };
  std::vector<Purchase> purchases;
  std::vector<uint8_t> identified(n, 0);
  std::map<int32_t, int64_t> tz_count;
  int64_t max_ts = 0;
  OMNI_RETURN_IF_ERROR(store->ScanEvents(0, [&](int64_t, const ingest::Event& e) {
    if (e.type != "purchase") return true;
    std::optional<int32_t> c = directory->CustomerOfEvent(e);
    if (!c) return true;
    for (const auto& id : e.identities) {
      if (strong[static_cast<size_t>(id.type)]) identified[static_cast<size_t>(*c)] = 1;
    }
    purchases.push_back({*c, e.ts_ms, std::max(0.0, e.quantity.value_or(1.0) * e.price.value_or(0.0))});
    ++tz_count[e.tz_offset_min];
    max_ts = std::max(max_ts, e.ts_ms);
    return true;
  }));
  if (purchases.empty()) return FailedPrecondition("no purchases of resolved customers to fit on");
  int32_t tz = 0;
  int64_t best = -1;
  for (const auto& [offset, count] : tz_count) {
    if (count > best) best = count, tz = offset;
  }
  profile::RfmOptions rfm;
  rfm.unit = unit;
  rfm.utc_offset_ms = static_cast<int64_t>(tz) * 60'000;
  if (flags.calibration_end.empty()) {
    rfm.calibration_end_ms = max_ts;
  } else {
    OMNI_ASSIGN_OR_RETURN(rfm.calibration_end_ms, ParseDay(flags.calibration_end, "--calibration-end", tz));
  }
  int64_t holdout_end_ms = 0;
  if (!flags.holdout_end.empty()) {
    OMNI_ASSIGN_OR_RETURN(holdout_end_ms, ParseDay(flags.holdout_end, "--holdout-end", tz));
  }

  // Customer-major purchase history (counting sort), identified customers only.
  profile::PurchaseHistory history;
  history.offsets.assign(n + 1, 0);
  for (const Purchase& p : purchases) {
    if (identified[static_cast<size_t>(p.customer)]) ++history.offsets[static_cast<size_t>(p.customer) + 1];
  }
  for (size_t c = 0; c < n; ++c) history.offsets[c + 1] += history.offsets[c];
  history.ts_ms.resize(static_cast<size_t>(history.offsets[n]));
  history.amount.resize(history.ts_ms.size());
  {
    std::vector<int64_t> next(history.offsets.begin(), history.offsets.end() - 1);
    for (const Purchase& p : purchases) {
      if (!identified[static_cast<size_t>(p.customer)]) continue;
      const auto at = static_cast<size_t>(next[static_cast<size_t>(p.customer)]++);
      history.ts_ms[at] = p.ts_ms;
      history.amount[at] = p.amount;
    }
  }
  purchases = {};
  OMNI_ASSIGN_OR_RETURN(profile::RfmSummary summary, profile::BuildRfmSummary(history, rfm));
  OMNI_ASSIGN_OR_RETURN(profile::BgNbdFit bg, profile::FitBgNbd(summary));
  StatusOr<profile::GammaGammaFit> gg = profile::FitGammaGamma(summary);
  if (!gg.ok()) spdlog::warn("Gamma-Gamma not fitted: {}", gg.status().message());
  std::optional<profile::HoldoutReport> holdout;
  if (holdout_end_ms > 0) {
    std::vector<double> actual = profile::HoldoutPurchaseDays(history, summary, rfm, holdout_end_ms);
    OMNI_ASSIGN_OR_RETURN(holdout, profile::EvaluateHoldout(bg.params, summary, actual,
                                                            profile::HoldoutHorizon(rfm, holdout_end_ms)));
  }
  const std::string cal_day = profile::DateOf(rfm.calibration_end_ms + rfm.utc_offset_ms);

  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    const auto& b = bg.params;
    w.Key("r").Double(b.r).Key("alpha").Double(b.alpha).Key("a").Double(b.a).Key("b").Double(b.b);
    if (gg.ok()) w.Key("p").Double(gg->params.p).Key("q").Double(gg->params.q).Key("v").Double(gg->params.v);
    w.Key("log_likelihood").BeginObject().Key("bgnbd").Double(bg.report.log_likelihood);
    if (gg.ok()) w.Key("gamma_gamma").Double(gg->report.log_likelihood);
    w.EndObject();
    w.Key("unit").String(profile::TimeUnitName(unit)).Key("calibration_end").String(cal_day);
    w.Key("customers").Int(bg.report.customers).Key("converged").Bool(bg.report.converged);
    if (gg.ok()) {
      w.Key("spend_customers").Int(gg->report.customers);
      w.Key("frequency_spend_correlation").Double(gg->frequency_spend_correlation);
    }
    if (holdout) {
      w.Key("holdout").BeginObject();
      w.Key("end").String(profile::DateOf(holdout_end_ms + rfm.utc_offset_ms));
      w.Key("horizon").Double(holdout->horizon_units).Key("customers").Int(holdout->customers);
      w.Key("actual_total").Double(holdout->actual_total).Key("predicted_total").Double(holdout->predicted_total);
      w.Key("mae").Double(holdout->mae).Key("rmse").Double(holdout->rmse);
      w.Key("correlation").Double(holdout->correlation);
      w.Key("by_frequency").BeginArray();
      for (const auto& bucket : holdout->buckets) {
        w.BeginObject().Key("x").String(bucket.label).Key("customers").Int(bucket.customers);
        w.Key("actual_mean").Double(bucket.actual_mean).Key("predicted_mean").Double(bucket.predicted_mean);
        w.EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  Table t({"model", fmt::format("fitted on {} customers, calibration to {} (unit {}, days at UTC{:+03d}:{:02d})",
                                bg.report.customers, cal_day, profile::TimeUnitName(unit), tz / 60, std::abs(tz % 60))});
  t.AddRow({"BG/NBD", fmt::format("r={:.6g} alpha={:.6g} a={:.6g} b={:.6g}  LL={:.2f}{}", bg.params.r,
                                  bg.params.alpha, bg.params.a, bg.params.b, bg.report.log_likelihood,
                                  bg.report.converged ? "" : "  (not converged)")});
  if (gg.ok()) {
    t.AddRow({"Gamma-Gamma", fmt::format("p={:.6g} q={:.6g} v={:.6g}  LL={:.2f}  ({} repeat buyers; "
                                         "corr(frequency, spend)={:.3f})",
                                         gg->params.p, gg->params.q, gg->params.v, gg->report.log_likelihood,
                                         gg->report.customers, gg->frequency_spend_correlation)});
  } else {
    t.AddRow({"Gamma-Gamma", gg.status().message()});
  }
  t.Print();
  if (holdout) {
    std::printf("\nHoldout %s .. %s (%.1f %ss): predicted vs actual purchase days per customer\n",
                cal_day.c_str(), profile::DateOf(holdout_end_ms + rfm.utc_offset_ms).c_str(), holdout->horizon_units,
                std::string(profile::TimeUnitName(unit)).c_str());
    Table h({"measure", "value"});
    h.AddRow({"customers", std::to_string(holdout->customers)});
    h.AddRow({"actual total", FormatNumber(holdout->actual_total, 0)});
    h.AddRow({"predicted total", FormatNumber(holdout->predicted_total, 1)});
    h.AddRow({"MAE per customer", FormatNumber(holdout->mae, 3)});
    h.AddRow({"RMSE per customer", FormatNumber(holdout->rmse, 3)});
    h.AddRow({"correlation", FormatNumber(holdout->correlation, 3)});
    h.Print();
    std::printf("\nBy calibration repeat purchases (Fader, Hardie & Lee 2005, Figure 4):\n");
    Table f({"x", "customers", "actual mean", "predicted mean"});
    for (const auto& bucket : holdout->buckets) {
      f.AddRow({bucket.label, std::to_string(bucket.customers), FormatNumber(bucket.actual_mean, 3),
                FormatNumber(bucket.predicted_mean, 3)});
    }
    f.Print();
  }
  return Status::Ok();
}

}  // namespace

void AddProfileCommands(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  // profiles
  CLI::App* profiles = app.add_subcommand("profiles", "Customer profiles: RFM, CLV, channels, affinities, consent");
  profiles->require_subcommand(1);
  auto build_flags = std::make_shared<BuildFlags>();
  CLI::App* build = profiles->add_subcommand("build", "Resolve identities, then build every customer's profile");
  build->add_option("--as-of", build_flags->as_of,
                    "profiles as of this date (end of day, UTC) or RFC 3339 time; default: the latest event");
  build->add_option("--export-events", build_flags->export_events,
                    "also write every event used, with its customer key, to this CSV (for checking against "
                    "another tool; slows the build)");
  registry.emplace_back(build, [&ctx, build_flags]() { return BuildProfiles(ctx, *build_flags); });
  auto export_path = std::make_shared<std::string>();
  CLI::App* export_profiles =
      profiles->add_subcommand("export", "Every profile of the latest build as JSON lines (as `customers show` gives it)");
  export_profiles->add_option("--out", *export_path, "the JSON-lines file to write")->required();
  registry.emplace_back(export_profiles, [&ctx, export_path]() { return ExportProfiles(ctx, *export_path); });

  // segments
  CLI::App* segments = app.add_subcommand("segments", "Named segments over profile fields; k-means clusters");
  segments->require_subcommand(1);
  CLI::App* fields = segments->add_subcommand("fields", "The profile fields an expression may use");
  registry.emplace_back(fields, [&ctx]() { return SegmentFields(ctx); });

  auto create_flags = std::make_shared<CreateFlags>();
  CLI::App* create = segments->add_subcommand("create", "Create a segment: NAME EXPR (see `segments fields`)");
  create->add_option("name", create_flags->name, "segment name")->required();
  create->add_option("expression", create_flags->expression,
                     "e.g. 'rfm.recency >= 4 and \"store\" in channels and consent.sms'")
      ->required();
  create->add_option("--description", create_flags->description, "what the segment is for");
  create->add_flag("--replace", create_flags->replace, "replace an existing segment of that name");
  registry.emplace_back(create, [&ctx, create_flags]() { return CreateSegment(ctx, *create_flags); });

  CLI::App* list = segments->add_subcommand("list", "Segments with their current sizes (k-anonymity applied)");
  registry.emplace_back(list, [&ctx]() { return ListSegments(ctx); });

  auto export_flags = std::make_shared<ExportFlags>();
  CLI::App* exp = segments->add_subcommand("export", "Members of a segment: customer keys or channel-ready hashes");
  exp->add_option("name", export_flags->name, "segment name")->required();
  exp->add_option("--as", export_flags->as, "keys, or channel-hashes (consented members' identifiers)")
      ->check(CLI::IsMember({"keys", "channel-hashes"}))
      ->capture_default_str();
  exp->add_option("--channel", export_flags->channel, "for channel-hashes: sms, email, callcenter, social, app, ...");
  exp->add_option("--out", export_flags->out, "write the values to this file, one per line");
  registry.emplace_back(exp, [&ctx, export_flags]() { return ExportSegment(ctx, *export_flags); });

  auto delete_name = std::make_shared<std::string>();
  CLI::App* del = segments->add_subcommand("delete", "Delete a segment");
  del->add_option("name", *delete_name, "segment name")->required();
  registry.emplace_back(del, [&ctx, delete_name]() { return DeleteSegment(ctx, *delete_name); });

  auto cluster_spec = std::make_shared<std::string>("kmeans:k=5");
  CLI::App* cluster = segments->add_subcommand("cluster", "k-means on standardised RFM / CLV / channel-mix features");
  cluster->add_option("spec", *cluster_spec, profile::KMeansOptions::Help())->capture_default_str();
  registry.emplace_back(cluster, [&ctx, cluster_spec]() { return ClusterSegments(ctx, *cluster_spec); });

  // clv
  CLI::App* clv = app.add_subcommand("clv", "Customer lifetime value: BG/NBD + Gamma-Gamma");
  clv->require_subcommand(1);
  auto clv_flags = std::make_shared<ClvFlags>();
  CLI::App* fit = clv->add_subcommand("fit", "Fit on purchases up to the calibration end; optional holdout check");
  fit->add_option("--calibration-end", clv_flags->calibration_end, "last day of calibration (YYYY-MM-DD); default: the last purchase");
  fit->add_option("--unit", clv_flags->unit, "time unit of the model: day or week")
      ->check(CLI::IsMember({"day", "week"}))
      ->capture_default_str();
  fit->add_option("--holdout-end", clv_flags->holdout_end,
                  "compare predicted and actual purchases in (calibration end, this day]");
  registry.emplace_back(fit, [&ctx, clv_flags]() { return FitClv(ctx, *clv_flags); });
}

}  // namespace omni::cli
