// omni features build --cutoff DATE[,DATE...] --horizon 90d [--out FILE.csv]
// omni behaviour window [--by channel|category|channel,category] [--svg FILE] [--max-hours 168]
// (issue 5: point-in-time features and the purchase-after-browse window)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <sys/resource.h>

#include <absl/container/flat_hash_map.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "omni/cli/commands.h"
#include "omni/cli/features_build.h"
#include "omni/common/csv_field.h"
#include "omni/common/progress.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/timestamp.h"
#include "omni/predict/browse_window.h"
#include "omni/predict/features.h"
#include "omni/profile/event_pipeline.h"
#include "omni/store/store.h"

namespace omni::cli {
namespace {

namespace fs = std::filesystem;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// "90d", "12w", "36h" (a bare number is days).
StatusOr<int64_t> ParseHorizon(const std::string& text) {
  if (text.empty()) return InvalidArgument("--horizon: empty (expected e.g. 90d, 12w or 48h)");
  char unit = text.back();
  std::string number = text;
  int64_t unit_ms = predict::kDayMs;
  if (unit == 'd' || unit == 'w' || unit == 'h') {
    number.pop_back();
    unit_ms = unit == 'w' ? 7 * predict::kDayMs : unit == 'h' ? 3'600'000 : predict::kDayMs;
  }
  char* end = nullptr;
  const double v = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !(v > 0) || !std::isfinite(v)) {
    return InvalidArgument("--horizon " + text + ": expected a positive number of days, weeks or hours (90d, 12w, 48h)");
  }
  return static_cast<int64_t>(std::llround(v * static_cast<double>(unit_ms)));
}

// A date is its first instant (UTC): `--cutoff 2011-09-01` = features from
// events before 1 September, label from 1 September on.
StatusOr<int64_t> ParseCutoff(std::string_view text) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    auto t = ingest::ParseLocalTimestamp(text, 0);
    if (!t.ok()) return InvalidArgument(fmt::format("--cutoff {}: {}", text, t.status().message()));
    return t->ts_ms;
  }
  auto t = ingest::ParseTimestamp(text);
  if (!t.ok()) return InvalidArgument(fmt::format("--cutoff {}: expected YYYY-MM-DD or an RFC 3339 time", text));
  return t->ts_ms;
}

// The store and the One-ID directory; FailedPrecondition when there is
// nothing to work on yet, naming the command that fixes it.
struct Sources {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<identity::CustomerDirectory> directory;
  store::StoreStats stats;
};

StatusOr<Sources> OpenSources(const Context& ctx) {
  if (!fs::exists(fs::path(ctx.data_dir) / "omni.db")) {
    return FailedPrecondition("no store in " + ctx.data_dir + ": run `omni import` first");
  }
  Sources s;
  store::StoreOptions options;
  options.read_only = true;
  OMNI_ASSIGN_OR_RETURN(s.store, store::Store::OpenSqlite(ctx.data_dir, options));
  OMNI_ASSIGN_OR_RETURN(s.stats, s.store->Stats());
  if (s.stats.events == 0) return FailedPrecondition("no events in " + ctx.data_dir + ": run `omni import` first");
  OMNI_ASSIGN_OR_RETURN(s.directory, identity::LoadDirectory(ctx.data_dir));
  if (s.directory->customer_count() == 0) {
    return FailedPrecondition("no resolved customers in " + ctx.data_dir +
                              ": run `omni customers resolve` first (One-ID has not run)");
  }
  return s;
}

}  // namespace

StatusOr<predict::FeatureTable> BuildFeaturesFromStore(const Context& ctx, const std::string& cutoffs,
                                                       const std::string& horizon) {
  predict::FeatureOptions options;
  for (size_t pos = 0; pos <= cutoffs.size();) {
    size_t comma = cutoffs.find(',', pos);
    if (comma == std::string::npos) comma = cutoffs.size();
    std::string_view one(cutoffs.data() + pos, comma - pos);
    if (!one.empty()) {
      OMNI_ASSIGN_OR_RETURN(int64_t t, ParseCutoff(one));
      options.cutoffs_ms.push_back(t);
    }
    pos = comma + 1;
  }
  if (options.cutoffs_ms.empty()) return InvalidArgument("--cutoff is required (a date, or several separated by commas)");
  OMNI_ASSIGN_OR_RETURN(options.horizon_ms, ParseHorizon(horizon));
  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(Sources src, OpenSources(ctx));
  options.channels = config.channels;
  options.strong_types = id_config.strong;
  options.expected_events = src.stats.events;
  predict::FeatureBuildStats stats;
  return predict::BuildFeatures(ctx.data_dir, *src.store, *src.directory, options, &stats);
}

namespace {

// ---------------------------------------------------------------- features build

struct BuildFlags {
  std::string cutoffs;
  std::string horizon = "90d";
  std::string out;
  int top_categories = 5;
  int category_level = 1;
  bool no_clv = false;
  std::string export_events;
};


Status BuildFeatureTable(const Context& ctx, const BuildFlags& flags) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  predict::FeatureOptions options;
  if (flags.cutoffs.empty()) return InvalidArgument("--cutoff is required (a date, or several separated by commas)");
  for (size_t pos = 0; pos <= flags.cutoffs.size();) {
    size_t comma = flags.cutoffs.find(',', pos);
    if (comma == std::string::npos) comma = flags.cutoffs.size();
    std::string_view one(flags.cutoffs.data() + pos, comma - pos);
    if (!one.empty()) {
      OMNI_ASSIGN_OR_RETURN(int64_t t, ParseCutoff(one));
      options.cutoffs_ms.push_back(t);
    }
    pos = comma + 1;
  }
  if (options.cutoffs_ms.empty()) return InvalidArgument("--cutoff is required");
  OMNI_ASSIGN_OR_RETURN(options.horizon_ms, ParseHorizon(flags.horizon));
  if (flags.top_categories < 0) return InvalidArgument("--top-categories must be >= 0");
  if (flags.category_level < 1) return InvalidArgument("--category-level must be >= 1");
  options.top_categories = flags.top_categories;
  options.category_level = flags.category_level;
  options.fit_clv = !flags.no_clv;

  OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig id_config, identity::LoadIdentityConfig(ctx.data_dir));
  OMNI_ASSIGN_OR_RETURN(Sources src, OpenSources(ctx));
  options.channels = config.channels;
  options.strong_types = id_config.strong;
  options.expected_events = src.stats.events;
  const std::string out = flags.out.empty() ? (fs::path(ctx.data_dir) / "features.csv").string() : flags.out;

  predict::FeatureBuilder builder(*src.directory, options);
  auto t = std::chrono::steady_clock::now();
  absl::flat_hash_map<std::string, std::string> item_category;  // for --export-events only
  OMNI_RETURN_IF_ERROR(src.store->ScanItems([&](const ingest::Item& item) {
    builder.AddItem(item);
    if (!flags.export_events.empty() && !item.category_path.empty()) {
      item_category[item.item_id] = std::string(predict::CategoryAtLevel(item.category_path, options.category_level));
    }
    return true;
  }));
  // For checking the table with another tool (bench/features_reference.py):
  // every event of a resolved customer, with its key.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> exported(nullptr, &std::fclose);
  if (!flags.export_events.empty()) {
    exported.reset(std::fopen(flags.export_events.c_str(), "wb"));
    if (!exported) return InvalidArgument("cannot write " + flags.export_events);
    std::fputs("customer_key,ts_ms,channel,type,item_id,amount,order_id,strong,category\n", exported.get());
  }
  std::array<bool, ingest::kIdentityTypeCount> strong{};
  for (ingest::IdentityType type : id_config.strong) strong[static_cast<size_t>(type)] = true;
  // The events from the columnar snapshot (caught up from the store first).
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::EventColumns> columns,
                        store::EventColumns::Open(ctx.data_dir, *src.store));
  spdlog::info("events: {} in the columnar snapshot ({} caught up from the store), opened in {:.2f} s",
               columns->rows(), columns->open_stats().rows_caught_up, columns->open_stats().seconds);
  builder.AddEvents(*columns);
  if (exported) {
    std::string line;
    ingest::Event e;
    for (const store::EventColumnBlock& b : columns->blocks()) {
      for (int64_t row = 0; row < b.rows; ++row) {
        columns->ToEvent(b, row, e);
        std::optional<int32_t> c = src.directory->CustomerOfEvent(e);
        if (!c) continue;
        line = src.directory->CustomerKey(*c);
        line += fmt::format(",{},", e.ts_ms);
        AppendCsvField(line, e.channel);
        line.push_back(',');
        AppendCsvField(line, e.type);
        line.push_back(',');
        AppendCsvField(line, e.item_id);
        line.push_back(',');
        if (e.type == "purchase" || e.type == "refund") {
          line += fmt::format("{}", std::max(0.0, e.quantity.value_or(1.0) * e.price.value_or(0.0)));
        }
        line.push_back(',');
        AppendCsvField(line, e.order_id);
        bool is_strong = false;
        for (const auto& id : e.identities) is_strong = is_strong || strong[static_cast<size_t>(id.type)];
        line += is_strong ? ",1," : ",0,";
        if (!e.item_id.empty()) {
          auto it = item_category.find(e.item_id);
          if (it != item_category.end()) AppendCsvField(line, it->second);
        }
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), exported.get());
      }
    }
  }
  const double scan_s = Seconds(t);
  const double scan_cpu_s = CpuSeconds() - cpu_start;  // with opening the store and loading One-ID
  t = std::chrono::steady_clock::now();
  OMNI_ASSIGN_OR_RETURN(predict::FeatureTable table, builder.Finish());
  const double compute_s = Seconds(t);
  const double compute_cpu_s = CpuSeconds() - cpu_start - scan_cpu_s;
  t = std::chrono::steady_clock::now();
  OMNI_RETURN_IF_ERROR(predict::WriteFeatureCsv(table, out));
  const double write_s = Seconds(t);
  const predict::FeatureBuildStats& s = builder.stats();
  const double total_s = Seconds(start);
  const double cpu_s = CpuSeconds() - cpu_start;
  int64_t positives = 0;
  for (float l : table.label) positives += l > 0.5f;
  for (const auto& c : s.cutoffs) {
    if (!c.label_complete) {
      spdlog::warn("cutoff {}: the horizon runs past the last event ({}): labels there are incomplete",
                   ingest::FormatTimestamp(c.cutoff_ms, 0), ingest::FormatTimestamp(s.max_event_ms, 0));
    }
    if (!c.clv_fitted) spdlog::warn("cutoff {}: no BG/NBD columns ({})", ingest::FormatTimestamp(c.cutoff_ms, 0), c.clv_note);
  }
  if (s.events_unattributed > 0) {
    spdlog::warn("{} events have no resolved customer (only shared identifiers, or imported after the last "
                 "`omni customers resolve`): they are not in the features",
                 s.events_unattributed);
  }
  spdlog::info("features: {} events read in {:.2f} s, {} rows computed in {:.2f} s, written in {:.2f} s",
               s.events_read, scan_s, table.rows(), compute_s, write_s);

  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("out").String(out);
    w.Key("rows").Int(table.rows()).Key("positives").Int(positives);
    w.Key("positive_rate").Double(table.rows() > 0 ? static_cast<double>(positives) / table.rows() : 0);
    w.Key("columns").BeginArray();
    for (const auto& c : table.columns) w.String(c);
    w.EndArray();
    w.Key("horizon_days").Double(static_cast<double>(options.horizon_ms) / predict::kDayMs);
    w.Key("channels").BeginArray();
    for (const auto& c : s.channels) w.String(c);
    w.EndArray();
    w.Key("categories").BeginArray();
    for (const auto& c : s.categories) w.String(c);
    w.EndArray();
    w.Key("cutoffs").BeginArray();
    for (const auto& c : s.cutoffs) {
      w.BeginObject();
      w.Key("cutoff").String(ingest::FormatTimestamp(c.cutoff_ms, 0));
      w.Key("rows").Int(c.rows).Key("positives").Int(c.positives);
      w.Key("positive_rate").Double(c.rows > 0 ? static_cast<double>(c.positives) / c.rows : 0);
      w.Key("label_complete").Bool(c.label_complete);
      w.Key("bgnbd");
      if (c.clv_fitted) {
        w.BeginObject().Key("r").Double(c.bgnbd.r).Key("alpha").Double(c.bgnbd.alpha);
        w.Key("a").Double(c.bgnbd.a).Key("b").Double(c.bgnbd.b).EndObject();
      } else {
        w.Null();
      }
      if (!c.clv_note.empty()) w.Key("bgnbd_note").String(c.clv_note);
      w.EndObject();
    }
    w.EndArray();
    w.Key("events_read").Int(s.events_read).Key("events_used").Int(s.events_used);
    w.Key("events_unattributed").Int(s.events_unattributed);
    w.Key("seconds").BeginObject();
    w.Key("scan").Double(scan_s).Key("compute").Double(compute_s).Key("write").Double(write_s);
    w.Key("total").Double(total_s).Key("cpu").Double(cpu_s);
    w.Key("cpu_load_and_scan").Double(scan_cpu_s).Key("cpu_compute").Double(compute_cpu_s).EndObject();
    w.Key("events_per_second").Double(s.events_read / std::max(1e-9, total_s));
    w.Key("rows_per_second").Double(table.rows() / std::max(1e-9, total_s));
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  Table summary({"cutoff", "rows", "positives", "positive rate", "label complete", "BG/NBD"});
  for (const auto& c : s.cutoffs) {
    summary.AddRow({ingest::FormatTimestamp(c.cutoff_ms, 0), std::to_string(c.rows), std::to_string(c.positives),
                    fmt::format("{:.1f}%", c.rows > 0 ? 100.0 * c.positives / c.rows : 0.0),
                    c.label_complete ? "yes" : "no (data ends)", c.clv_fitted ? "fitted" : c.clv_note});
  }
  summary.AddRow({"all", std::to_string(table.rows()), std::to_string(positives),
                  fmt::format("{:.1f}%", table.rows() > 0 ? 100.0 * positives / table.rows() : 0.0), "", ""});
  summary.Print();
  Table info({"feature table", out});
  info.AddRow({"columns", fmt::format("{} features + label (horizon {:g} days)", table.cols(),
                                      static_cast<double>(options.horizon_ms) / predict::kDayMs)});
  std::string cats;
  for (const auto& c : s.categories) cats += (cats.empty() ? "" : ", ") + c;
  if (!cats.empty()) info.AddRow({"category columns", cats});
  info.AddRow({"events read", fmt::format("{} ({} used, {} without a resolved customer)", s.events_read, s.events_used,
                                          s.events_unattributed)});
  info.AddRow({"seconds", fmt::format("{:.2f} wall ({:.2f} scan, {:.2f} compute, {:.2f} write), {:.2f} CPU", total_s,
                                      scan_s, compute_s, write_s, cpu_s)});
  info.Print();
  return Status::Ok();
}

// ---------------------------------------------------------------- behaviour window

struct WindowFlags {
  std::string by = "channel";
  std::string svg;
  double max_hours = 168;
  double min_remaining = 5;
  int64_t min_anchors = 30;
  int category_level = 1;
};

std::string Percent(double p) { return fmt::format("{:.1f}", 100 * p); }
std::string Hours(double h) { return std::isnan(h) ? "-" : fmt::format("{:.1f}", h); }

Status BrowseWindow(const Context& ctx, const WindowFlags& flags) {
  const auto start = std::chrono::steady_clock::now();
  predict::WindowOptions options;
  OMNI_ASSIGN_OR_RETURN(options.by, predict::ParseWindowGrouping(flags.by));
  options.max_hours = flags.max_hours;
  options.min_remaining_per_1000 = flags.min_remaining;
  if (flags.category_level < 1) return InvalidArgument("--category-level must be >= 1");
  options.category_level = flags.category_level;
  OMNI_ASSIGN_OR_RETURN(Sources src, OpenSources(ctx));
  OMNI_ASSIGN_OR_RETURN(predict::WindowReport report,
                        predict::ComputeBrowseWindow(*src.store, *src.directory, options));
  // Groups too small to say anything are left out of the output (not of "all").
  std::vector<const predict::WindowCurve*> shown;
  int64_t hidden = 0;
  for (const auto& c : report.curves) {
    if (c.anchors >= flags.min_anchors || (c.channel == predict::kAllGroup && c.category == predict::kAllGroup)) {
      shown.push_back(&c);
    } else {
      ++hidden;
    }
  }
  if (!flags.svg.empty()) {
    predict::WindowReport chart;
    chart.hours = report.hours;
    for (const auto* c : shown) chart.curves.push_back(*c);
    std::ofstream f(flags.svg, std::ios::binary);
    if (!f) return InvalidArgument("cannot write " + flags.svg);
    f << predict::BrowseWindowSvg(chart, "Purchase after browsing: % of viewed items bought within t hours");
    if (!f) return Internal("write failed: " + flags.svg);
  }
  const double total_s = Seconds(start);
  if (ctx.json()) {
    JsonWriter w;
    w.BeginObject();
    w.Key("by").String(flags.by).Key("max_hours").Double(options.max_hours);
    w.Key("min_remaining_per_1000").Double(options.min_remaining_per_1000);
    w.Key("hours").BeginArray();
    for (double h : report.hours) w.Double(h);
    w.EndArray();
    w.Key("curves").BeginArray();
    for (const auto* c : shown) {
      w.BeginObject();
      w.Key("anchor").String(c->anchor).Key("channel").String(c->channel).Key("category").String(c->category);
      w.Key("anchors").Int(c->anchors).Key("converted").Int(c->converted);
      w.Key("p_within").BeginArray();
      for (double p : c->p_within) w.Double(p);
      w.EndArray();
      w.Key("median_hours");
      std::isnan(c->median_hours) ? w.Null() : w.Double(c->median_hours);
      w.Key("p90_hours");
      std::isnan(c->p90_hours) ? w.Null() : w.Double(c->p90_hours);
      w.Key("window_close_hours").Double(c->window_close_hours);
      w.EndObject();
    }
    w.EndArray();
    w.Key("groups_below_min_anchors").Int(hidden);
    w.Key("censored_anchors").Int(report.censored);
    w.Key("events_read").Int(report.events_read).Key("events_used").Int(report.events_used);
    if (!flags.svg.empty()) w.Key("svg").String(flags.svg);
    w.Key("seconds").Double(total_s);
    w.EndObject();
    PrintJson(w);
    return Status::Ok();
  }
  std::vector<std::string> header = {"after", "channel", "category", "anchors", "bought"};
  for (double h : report.hours) header.push_back(fmt::format("≤{:g}h %", h));
  header.push_back("median h");
  header.push_back("p90 h");
  header.push_back("remind until h");
  Table tbl(header);
  for (const auto* c : shown) {
    std::vector<std::string> row = {c->anchor, c->channel, c->category, std::to_string(c->anchors),
                                    std::to_string(c->converted)};
    for (double p : c->p_within) row.push_back(Percent(p));
    row.push_back(Hours(c->median_hours));
    row.push_back(Hours(c->p90_hours));
    row.push_back(Hours(c->window_close_hours));
    tbl.AddRow(std::move(row));
  }
  tbl.Print();
  std::printf(
      "%% = share of anchors (first view / cart add of an item since the customer last bought it) bought within "
      "t hours, same customer, same item, any channel; online→store = online views bought in a store.\n"
      "remind until = the hour after which fewer than %g purchases per 1,000 anchors are still to come "
      "within %g h.\n%lld anchors within %g h of the data's end left out (not fully observed)%s.\n",
      options.min_remaining_per_1000, options.max_hours, static_cast<long long>(report.censored), options.max_hours,
      hidden > 0 ? fmt::format("; {} groups with fewer than {} anchors not shown", hidden, flags.min_anchors).c_str()
                 : "");
  if (!flags.svg.empty()) std::printf("chart: %s\n", flags.svg.c_str());
  return Status::Ok();
}

}  // namespace

void AddFeaturesCommand(CLI::App& app, Context& ctx, CommandRegistry& registry) {
  CLI::App* features = app.add_subcommand("features", "Point-in-time feature tables for propensity models");
  features->require_subcommand(1);
  auto bf = std::make_shared<BuildFlags>();
  CLI::App* build = features->add_subcommand(
      "build", "Features per resolved customer from events before each cutoff; label = purchase in the horizon");
  build->add_option("--cutoff", bf->cutoffs, "cutoff date(s) YYYY-MM-DD (start of day, UTC) or RFC 3339, comma-separated")
      ->required();
  build->add_option("--horizon", bf->horizon, "label horizon after the cutoff: Nd, Nw or Nh")->capture_default_str();
  build->add_option("--out", bf->out, "CSV to write (default DATA/features.csv)");
  build->add_option("--top-categories", bf->top_categories, "category share columns for the top N categories")
      ->capture_default_str();
  build->add_option("--category-level", bf->category_level, "depth of the category path used (1 = top level)")
      ->capture_default_str();
  build->add_flag("--no-clv", bf->no_clv, "skip the BG/NBD columns (left empty)");
  build->add_option("--export-events", bf->export_events,
                    "also write every event of a resolved customer, with its key, to this CSV (for checking "
                    "against another tool; slows the build)");
  registry.emplace_back(build, [&ctx, bf]() { return BuildFeatureTable(ctx, *bf); });

  CLI::App* behaviour = app.add_subcommand("behaviour", "Behaviour analysis: the purchase-after-browse window");
  behaviour->require_subcommand(1);
  auto wf = std::make_shared<WindowFlags>();
  CLI::App* window = behaviour->add_subcommand(
      "window", "How soon customers buy an item after viewing it (or adding it to the cart), per channel/category");
  window->add_option("--by", wf->by, "channel, category or channel,category")->capture_default_str();
  window->add_option("--svg", wf->svg, "also draw the curves into this SVG file");
  window->add_option("--max-hours", wf->max_hours, "follow-up horizon in hours")->capture_default_str();
  window->add_option("--min-remaining", wf->min_remaining,
                     "reminder pays while at least this many purchases per 1,000 anchors are still to come")
      ->capture_default_str();
  window->add_option("--min-anchors", wf->min_anchors, "hide groups with fewer anchors")->capture_default_str();
  window->add_option("--category-level", wf->category_level, "depth of the category path (1 = top level)")
      ->capture_default_str();
  registry.emplace_back(window, [&ctx, wf]() { return BrowseWindow(ctx, *wf); });
}

}  // namespace omni::cli
