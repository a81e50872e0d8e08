#include "omni/serve/dashboard_data.h"

#include <simdjson.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <unordered_map>
#include <sstream>
#include <vector>

#include "omni/common/json_writer.h"
#include "omni/identity/identity.h"
#include "omni/ingest/config_file.h"
#include "omni/ingest/timestamp.h"
#include "omni/profile/k_anonymity.h"
#include "omni/profile/profile_fields.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/rfm.h"
#include "omni/profile/segment_expression.h"
#include "omni/profile/segment_sizing.h"
#include "omni/store/sqlite_sql.h"

namespace omni::serve {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDayMs = 86'400'000;

StatusOr<std::unique_ptr<store::Sql>> OpenReadOnly(const std::string& data_dir) {
  if (!fs::exists(fs::path(data_dir) / "omni.db")) {
    return FailedPrecondition("no store in " + data_dir + " yet: import events first (omni import FILE)");
  }
  store::StoreOptions options;
  options.read_only = true;
  // A reader only waits for a checkpoint's brief lock, never for the writer.
  options.busy_timeout_ms = 2000;
  return store::OpenSqliteSql(data_dir, options);
}

std::string Time(int64_t ts_ms) { return ts_ms == 0 ? std::string() : ingest::FormatTimestamp(ts_ms, 0); }

// A customer count with k-anonymity: the number, or null and "<k".
void Customers(JsonWriter& w, std::string_view key, int64_t count, int64_t k) {
  w.Key(key);
  if (profile::Suppressed(count, k)) {
    w.Null();
  } else {
    w.Int(count);
  }
}

// The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^n that is >= x (x > 0):
// with 20 bins, edges a person reads without squinting (multiples of 50,
// 100, 150, 200, 250, 300, 400 ...).
double NiceCeil(double x) {
  if (!(x > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(x)));
  for (double m : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}) {
    if (m * p >= x * (1 - 1e-12)) return m * p;
  }
  return 10 * p;
}

// Linear-interpolated quantile of sorted values (numpy's default).
double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// stat(2), because GCC 12's <chrono> has no clock_cast from the file clock.
int64_t MtimeMs(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

// Parses a stored JSON object; false when the file is not one (a torn or
// foreign file is skipped, never passed to the browser).
bool IsJsonObject(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return !parser.parse(text).get(doc) && doc.is_object();
}

}  // namespace

std::string ValidUtf8(std::string_view s) {
  if (simdjson::validate_utf8(s.data(), s.size())) return std::string(s);
  std::string out;
  out.reserve(s.size() + 16);
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len > 0 && i + len <= s.size() && simdjson::validate_utf8(s.data() + i, len)) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    }
  }
  return out;
}

StatusOr<DashboardData> DashboardData::Open(const std::string& data_dir) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, OpenReadOnly(data_dir));
  OMNI_ASSIGN_OR_RETURN(int64_t k, profile::LoadMinGroupSize(data_dir));
  return DashboardData(data_dir, std::move(sql), k);
}

StatusOr<bool> DashboardData::HasTable(std::string_view name) {
  bool found = false;
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                   {std::string(name)}, [&](const store::SqlRow&) {
                                     found = true;
                                     return false;
                                   }));
  return found;
}

StatusOr<int64_t> DashboardData::QueryInt(std::string_view sql, int64_t if_null,
                                          const std::vector<store::SqlValue>& params) {
  int64_t v = if_null;
  OMNI_RETURN_IF_ERROR(sql_->Query(sql, params, [&](const store::SqlRow& r) {
    if (!r.IsNull(0)) v = r.Int(0);
    return false;
  }));
  return v;
}

StatusOr<std::string> DashboardData::EventsVersion() {
  OMNI_ASSIGN_OR_RETURN(int64_t last_seq, QueryInt("SELECT max(last_seq) FROM event_blocks", 0));
  OMNI_ASSIGN_OR_RETURN(std::string profiles, ProfilesVersion());
  return std::to_string(last_seq) + "/" + profiles;
}

StatusOr<std::string> DashboardData::ProfilesVersion() {
  std::string v = "k" + std::to_string(k_);
  OMNI_ASSIGN_OR_RETURN(bool builds, HasTable("profile_builds"));
  if (!builds) return v;
  OMNI_ASSIGN_OR_RETURN(int64_t build, QueryInt("SELECT max(id) FROM profile_builds", 0));
  v += "/b" + std::to_string(build);
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT count(*), max(updated_at_ms) FROM segments", {},
                                   [&](const store::SqlRow& r) {
                                     v += "/s" + std::to_string(r.Int(0)) + "." + std::to_string(r.Int(1));
                                     return false;
                                   }));
  return v;
}

StatusOr<std::string> DashboardData::IdentityVersion() {
  OMNI_ASSIGN_OR_RETURN(bool resolved, HasTable("identity_state"));
  if (!resolved) return std::string("none");
  std::string v = "none";
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT watermark, generation FROM identity_state WHERE id = 1", {},
                                   [&](const store::SqlRow& r) {
                                     v = "w" + std::to_string(r.Int(0)) + "g" + std::to_string(r.Int(1));
                                     return false;
                                   }));
  return v;
}

StatusOr<identity::IdentityConfig> DashboardData::LoadIdentityConfig() const {
  return identity::LoadIdentityConfig(data_dir_);
}

// ------------------------------------------------------------------ overview

StatusOr<std::string> DashboardData::Overview(int days) {
  // The resolution as stored, when `omni customers resolve` has run.
  OMNI_ASSIGN_OR_RETURN(bool resolved, HasTable("identity_state"));
  std::shared_ptr<const identity::CustomerDirectory> directory;
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig config, LoadIdentityConfig());
  if (resolved) {
    OMNI_ASSIGN_OR_RETURN(directory, identity::LoadDirectory(*sql_, config));
  }
  OverviewCounts counts(std::move(directory), config);
  return Overview(days, counts);
}

StatusOr<std::string> DashboardData::Overview(int days, const identity::CustomerDirectory* directory) {
  OMNI_ASSIGN_OR_RETURN(identity::IdentityConfig config, LoadIdentityConfig());
  // Not owned: the caller keeps the directory alive for this call.
  OverviewCounts counts(std::shared_ptr<const identity::CustomerDirectory>(std::shared_ptr<void>(), directory), config);
  return Overview(days, counts);
}

StatusOr<std::string> DashboardData::Overview(int days, OverviewCounts& counts) {
  days = std::clamp(days, 1, 366);
  JsonWriter w;
  w.BeginObject();
  w.Key("min_group_size").Int(k_);

  // The window ends at the newest event, not at the wall clock: an import of
  // last year's orders still shows a full chart.
  OMNI_ASSIGN_OR_RETURN(int64_t max_ts, QueryInt("SELECT max(max_ts_ms) FROM event_blocks", 0));
  OMNI_ASSIGN_OR_RETURN(int64_t events_total, QueryInt("SELECT count(*) FROM events", 0));
  OMNI_ASSIGN_OR_RETURN(int64_t quarantined, QueryInt("SELECT count(*) FROM quarantine", 0));
  w.Key("store").BeginObject();
  w.Key("events").Int(events_total).Key("quarantined").Int(quarantined);
  w.Key("newest_event").String(Time(max_ts));
  w.Key("last_import");
  bool any_import = false;
  OMNI_RETURN_IF_ERROR(sql_->Query(
      "SELECT source, format, started_at_ms, finished_at_ms, accepted, duplicates, rejected, status "
      "FROM imports ORDER BY id DESC LIMIT 1",
      {}, [&](const store::SqlRow& r) {
        any_import = true;
        w.BeginObject().Key("source").String(ValidUtf8(r.Text(0))).Key("format").String(r.Text(1));
        w.Key("started_at").String(Time(r.Int(2))).Key("finished_at").String(r.IsNull(3) ? "" : Time(r.Int(3)));
        w.Key("accepted").Int(r.Int(4)).Key("duplicates").Int(r.Int(5)).Key("rejected").Int(r.Int(6));
        w.Key("status").String(r.Text(7)).EndObject();
        return false;
      }));
  if (!any_import) w.Null();
  w.EndObject();

  // Counts brought up to date in one pass over the events `counts` has not
  // seen: the window's on a first call (event_blocks maps it to the first
  // sequence number that can be in it: the events table has no time index,
  // store/migrations.cc; one day of margin covers events whose UTC offset
  // moves them across midnight), only the newly committed ones after that.
  // Counting in memory rather than with SQL GROUP BY: distinct people need
  // each event's One-ID customer, which SQL cannot see, and one scan with
  // per-day counters is also faster than SQLite grouping a year of events
  // with count(DISTINCT ...) (docs/dashboard.md has the figures).
  std::string where = "seq > ?";
  std::vector<store::SqlValue> params = {counts.last_seq()};
  if (counts.last_seq() == 0 && max_ts > 0) {
    const int64_t from_ms = max_ts - (static_cast<int64_t>(std::max(days, counts.cover_days())) + 1) * kDayMs;
    OMNI_ASSIGN_OR_RETURN(int64_t first_seq,
                          QueryInt("SELECT min(first_seq) FROM event_blocks WHERE max_ts_ms >= ?", 0, {from_ms}));
    where = "seq >= ? AND ts_ms >= ?";
    params = {first_seq, from_ms};
  }
  if (max_ts > 0) {
    OverviewEvent e;
    OMNI_RETURN_IF_ERROR(sql_->Query(
        "SELECT seq, ts_ms, coalesce(tz_offset_min, 0), coalesce(channel, ''), coalesce(type, ''), "
        "coalesce(identities, ''), coalesce(order_id, ''), price, quantity, coalesce(currency, '') FROM events WHERE " +
            where,
        params, [&](const store::SqlRow& r) {
          e.seq = r.Int(0);
          e.ts_ms = r.Int(1);
          e.tz_offset_min = static_cast<int32_t>(r.Int(2));
          e.channel = r.Text(3);
          e.type = r.Text(4);
          e.identities = r.Text(5);
          e.order_id = r.Text(6);
          e.price = r.IsNull(7) ? std::nullopt : std::optional<double>(r.Double(7));
          e.quantity = r.IsNull(8) ? std::nullopt : std::optional<double>(r.Double(8));
          e.currency = r.Text(9);
          counts.Add(e);
          return true;
        }));
    OMNI_RETURN_IF_ERROR(counts.status());
  }
  counts.Seal();
  counts.Write(w, days, k_);

  // Active customers come from the latest profile build (identity resolved,
  // one person counted once across channels), as of that build.
  w.Key("customers");
  OMNI_ASSIGN_OR_RETURN(bool profiles, HasTable("profile_builds"));
  bool built = false;
  if (profiles) {
    OMNI_RETURN_IF_ERROR(sql_->Query("SELECT id, as_of_ms FROM profile_builds ORDER BY id DESC LIMIT 1", {},
                                     [&](const store::SqlRow& r) {
                                       built = true;
                                       w.BeginObject().Key("build_id").Int(r.Int(0));
                                       w.Key("as_of").String(Time(r.Int(1)));
                                       return false;
                                     }));
  }
  if (built) {
    OMNI_RETURN_IF_ERROR(sql_->Query(
        "SELECT count(*), sum(identified), sum(frequency > 0), "
        "sum(last_seen_ms > b.as_of_ms - 1 * 86400000), sum(last_seen_ms > b.as_of_ms - 7 * 86400000), "
        "sum(last_seen_ms > b.as_of_ms - 30 * 86400000), sum(last_purchase_ms > b.as_of_ms - 30 * 86400000) "
        "FROM profiles, (SELECT as_of_ms FROM profile_builds ORDER BY id DESC LIMIT 1) AS b",
        {}, [&](const store::SqlRow& r) {
          Customers(w, "total", r.Int(0), k_);
          Customers(w, "identified", r.Int(1), k_);
          Customers(w, "buyers", r.Int(2), k_);
          Customers(w, "active_1d", r.Int(3), k_);
          Customers(w, "active_7d", r.Int(4), k_);
          Customers(w, "active_30d", r.Int(5), k_);
          Customers(w, "buyers_30d", r.Int(6), k_);
          return false;
        }));
    w.EndObject();
  } else {
    w.Null();
    w.Key("note").String("no customer profiles yet: run omni customers resolve and omni profiles build");
  }
  w.EndObject();
  return w.Take();
}

// ----------------------------------------------------------------------- RFM

StatusOr<std::string> DashboardData::Rfm() {
  JsonWriter w;
  w.BeginObject();
  w.Key("min_group_size").Int(k_).Key("suppression").String(profile::SuppressionNote(k_));
  OMNI_ASSIGN_OR_RETURN(bool profiles, HasTable("profile_builds"));
  int64_t build_id = 0, as_of_ms = 0;
  if (profiles) {
    OMNI_RETURN_IF_ERROR(sql_->Query("SELECT id, as_of_ms FROM profile_builds ORDER BY id DESC LIMIT 1", {},
                                     [&](const store::SqlRow& r) {
                                       build_id = r.Int(0);
                                       as_of_ms = r.Int(1);
                                       return false;
                                     }));
  }
  if (build_id == 0) {
    w.Key("build_id").Null().Key("grid").Null().Key("groups").BeginArray().EndArray();
    w.Key("segments").BeginArray().EndArray();
    w.Key("note").String("no customer profiles yet: run omni customers resolve and omni profiles build");
    w.EndObject();
    return w.Take();
  }
  w.Key("build_id").Int(build_id).Key("as_of").String(Time(as_of_ms));

  // Recency (rows) × frequency (columns), buyers only.
  std::array<std::array<int64_t, 5>, 5> count{};
  std::array<std::array<double, 5>, 5> spend{};
  OMNI_RETURN_IF_ERROR(sql_->Query(
      "SELECT r_score, f_score, count(*), avg(monetary) FROM profiles "
      "WHERE frequency > 0 AND r_score BETWEEN 1 AND 5 AND f_score BETWEEN 1 AND 5 GROUP BY r_score, f_score",
      {}, [&](const store::SqlRow& r) {
        const auto ri = static_cast<size_t>(r.Int(0) - 1), fi = static_cast<size_t>(r.Int(1) - 1);
        count[ri][fi] = r.Int(2);
        spend[ri][fi] = r.Double(3);
        return true;
      }));
  w.Key("grid").BeginObject();
  w.Key("rows").String("recency score (5 = bought most recently)");
  w.Key("columns").String("frequency score (5 = most orders)");
  w.Key("cells").BeginArray();
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      const int64_t n = count[static_cast<size_t>(r - 1)][static_cast<size_t>(f - 1)];
      const bool hidden = profile::Suppressed(n, k_);
      w.BeginObject().Key("r").Int(r).Key("f").Int(f);
      Customers(w, "customers", n, k_);
      w.Key("shown").String(profile::ShownCount(n, k_));
      // An average over a suppressed cell would describe its few members.
      w.Key("avg_monetary");
      if (hidden || n == 0) {
        w.Null();
      } else {
        w.Double(std::round(spend[static_cast<size_t>(r - 1)][static_cast<size_t>(f - 1)] * 100) / 100);
      }
      w.EndObject();
    }
  }
  w.EndArray().EndObject();

  std::map<std::string, int64_t> groups;
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT coalesce(rfm_group, ''), count(*) FROM profiles GROUP BY 1", {},
                                   [&](const store::SqlRow& r) {
                                     groups[std::string(r.Text(0))] = r.Int(1);
                                     return true;
                                   }));
  w.Key("groups").BeginArray();
  for (int g = 1; g < profile::kRfmGroupCount; ++g) {
    const auto group = static_cast<profile::RfmGroup>(g);
    const std::string name(profile::RfmGroupName(group));
    w.BeginObject().Key("group").String(name).Key("description").String(profile::RfmGroupDescription(group));
    Customers(w, "customers", groups[name], k_);
    w.Key("shown").String(profile::ShownCount(groups[name], k_)).EndObject();
  }
  w.BeginObject().Key("group").String("no_purchase").Key("description").String("visitors and members who have not bought");
  Customers(w, "customers", groups[""], k_);
  w.Key("shown").String(profile::ShownCount(groups[""], k_)).EndObject();
  w.EndArray();

  // Segments are sized against the latest build, as `omni segments list`
  // does: membership is never stored, so a size is never stale.
  struct Segment {
    std::string name, expression, description, error;
    std::optional<profile::SegmentExpression> compiled;
    int64_t size = 0;
  };
  std::vector<Segment> segments;
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT name, expression, description FROM segments ORDER BY name", {},
                                   [&](const store::SqlRow& r) {
                                     segments.push_back({std::string(r.Text(0)), std::string(r.Text(1)),
                                                         std::string(r.Text(2)), "", std::nullopt, 0});
                                     return true;
                                   }));
  if (!segments.empty()) {
    OMNI_ASSIGN_OR_RETURN(ingest::IngestConfig config, ingest::LoadIngestConfig(data_dir_));
    profile::ProfileFields fields(config.channels);
    for (Segment& s : segments) {
      StatusOr<profile::SegmentExpression> e = profile::SegmentExpression::Parse(s.expression, fields.catalog());
      if (e.ok()) {
        s.compiled = std::move(*e);
      } else {
        s.error = e.status().message();
      }
    }
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> scan_sql, OpenReadOnly(data_dir_));
    OMNI_ASSIGN_OR_RETURN(std::unique_ptr<profile::ProfileStore> store, profile::ProfileStore::Over(std::move(scan_sql)));
    std::vector<const profile::SegmentExpression*> expressions;
    for (const Segment& s : segments) expressions.push_back(s.compiled ? &*s.compiled : nullptr);
    OMNI_ASSIGN_OR_RETURN(profile::SegmentSizes sized, profile::SizeSegments(*store, fields, expressions));
    for (size_t i = 0; i < segments.size(); ++i) segments[i].size = sized.sizes[i];
  }
  w.Key("segments").BeginArray();
  for (const Segment& s : segments) {
    w.BeginObject().Key("name").String(s.name).Key("expression").String(s.expression);
    w.Key("description").String(s.description);
    if (!s.error.empty()) {
      w.Key("customers").Null().Key("shown").String("").Key("error").String(s.error);
    } else {
      Customers(w, "customers", s.size, k_);
      w.Key("shown").String(profile::ShownCount(s.size, k_));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

// ----------------------------------------------------------------------- CLV

StatusOr<std::string> DashboardData::Clv(int bins) {
  bins = std::clamp(bins, 2, 100);
  JsonWriter w;
  w.BeginObject();
  w.Key("min_group_size").Int(k_).Key("suppression").String(profile::SuppressionNote(k_));
  OMNI_ASSIGN_OR_RETURN(bool profiles, HasTable("profile_builds"));
  int64_t build_id = 0, as_of_ms = 0;
  std::string params;
  if (profiles) {
    OMNI_RETURN_IF_ERROR(sql_->Query("SELECT id, as_of_ms, clv FROM profile_builds ORDER BY id DESC LIMIT 1", {},
                                     [&](const store::SqlRow& r) {
                                       build_id = r.Int(0);
                                       as_of_ms = r.Int(1);
                                       params = r.Text(2);
                                       return false;
                                     }));
  }
  if (build_id == 0) {
    w.Key("build_id").Null().Key("histogram").Null();
    w.Key("note").String("no customer profiles yet: run omni customers resolve and omni profiles build");
    w.EndObject();
    return w.Take();
  }
  w.Key("build_id").Int(build_id).Key("as_of").String(Time(as_of_ms));
  w.Key("model");
  if (IsJsonObject(params)) {
    w.Raw(params);
  } else {
    w.Null();
  }
  std::vector<double> clv, alive;
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT clv_12m, p_alive FROM profiles WHERE clv_12m IS NOT NULL", {},
                                   [&](const store::SqlRow& r) {
                                     clv.push_back(r.Double(0));
                                     if (!r.IsNull(1)) alive.push_back(r.Double(1));
                                     return true;
                                   }));
  std::sort(clv.begin(), clv.end());
  Customers(w, "customers", static_cast<int64_t>(clv.size()), k_);
  if (clv.empty() || profile::Suppressed(static_cast<int64_t>(clv.size()), k_)) {
    w.Key("histogram").Null();
    w.Key("note").String(clv.empty() ? "no CLV in the latest profile build (the model could not be fitted: too "
                                       "few repeat buyers?)"
                                     : profile::SuppressionNote(k_));
    w.EndObject();
    return w.Take();
  }
  double sum = 0;
  for (double v : clv) sum += v;
  w.Key("summary").BeginObject();
  w.Key("total_12m").Double(std::round(sum * 100) / 100);
  w.Key("mean").Double(sum / static_cast<double>(clv.size()));
  w.Key("median").Double(Quantile(clv, 0.5)).Key("p90").Double(Quantile(clv, 0.9));
  w.EndObject();

  // Equal-width bins from 0 (or the minimum, if negative) up to a round
  // number above the 95th percentile, and one open bin above it: CLV is
  // heavy-tailed, and a few whales would otherwise squash every other bar
  // into the first one.
  const double lo = std::min(0.0, clv.front());
  const double hi = lo + NiceCeil(std::max(Quantile(clv, 0.95) - lo, 1e-9));
  const double width = (hi - lo) / bins;
  std::vector<int64_t> counts(static_cast<size_t>(bins) + 1, 0);
  for (double v : clv) {
    const auto i = v >= hi ? static_cast<size_t>(bins) : static_cast<size_t>(std::floor((v - lo) / width));
    ++counts[std::min(i, static_cast<size_t>(bins))];
  }
  if (counts.back() == 0) counts.pop_back();
  w.Key("histogram").BeginObject().Key("bins").BeginArray();
  for (size_t i = 0; i < counts.size(); ++i) {
    const double from = lo + width * static_cast<double>(i);
    w.BeginObject().Key("from").Double(from);
    w.Key("to");
    if (i == static_cast<size_t>(bins)) {
      w.Null();
    } else {
      w.Double(from + width);
    }
    Customers(w, "customers", counts[i], k_);
    w.Key("shown").String(profile::ShownCount(counts[i], k_)).EndObject();
  }
  w.EndArray().EndObject();

  std::vector<int64_t> alive_counts(10, 0);
  for (double p : alive) ++alive_counts[std::min<size_t>(9, static_cast<size_t>(std::max(0.0, p) * 10))];
  w.Key("p_alive").BeginArray();
  for (size_t i = 0; i < alive_counts.size(); ++i) {
    w.BeginObject().Key("from").Double(static_cast<double>(i) / 10).Key("to").Double(static_cast<double>(i + 1) / 10);
    Customers(w, "customers", alive_counts[i], k_);
    w.Key("shown").String(profile::ShownCount(alive_counts[i], k_)).EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

// ---------------------------------------------------------------- quarantine

StatusOr<std::string> DashboardData::Quarantine(int limit, std::string_view reason) {
  limit = std::clamp(limit, 0, 500);
  JsonWriter w;
  w.BeginObject();
  int64_t total = 0;
  w.Key("reasons").BeginArray();
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC, 1", {},
                                   [&](const store::SqlRow& r) {
                                     total += r.Int(1);
                                     w.BeginObject().Key("reason").String(ValidUtf8(r.Text(0)));
                                     w.Key("count").Int(r.Int(1)).EndObject();
                                     return true;
                                   }));
  w.EndArray();
  w.Key("total").Int(total);
  w.Key("sources").BeginArray();
  OMNI_RETURN_IF_ERROR(sql_->Query(
      "SELECT source, count(*), max(quarantined_at_ms) FROM quarantine GROUP BY source ORDER BY 3 DESC LIMIT 50", {},
      [&](const store::SqlRow& r) {
        w.BeginObject().Key("source").String(ValidUtf8(r.Text(0))).Key("count").Int(r.Int(1));
        w.Key("last").String(Time(r.Int(2))).EndObject();
        return true;
      }));
  w.EndArray();
  w.Key("reason").String(ValidUtf8(reason));
  w.Key("recent").BeginArray();
  auto row = [&](const store::SqlRow& r) {
    w.BeginObject().Key("id").Int(r.Int(0)).Key("source").String(ValidUtf8(r.Text(1)));
    w.Key("line").Int(r.Int(2)).Key("reason").String(ValidUtf8(r.Text(3)));
    w.Key("field").String(ValidUtf8(r.Text(4))).Key("message").String(ValidUtf8(r.Text(5)));
    w.Key("raw").String(ValidUtf8(r.Text(6))).Key("quarantined_at").String(Time(r.Int(7))).EndObject();
    return true;
  };
  const std::string columns =
      "SELECT id, source, line_no, reason, coalesce(field, ''), coalesce(message, ''), coalesce(raw, ''), "
      "quarantined_at_ms FROM quarantine ";
  if (reason.empty()) {
    OMNI_RETURN_IF_ERROR(sql_->Query(columns + "ORDER BY id DESC LIMIT ?", {static_cast<int64_t>(limit)}, row));
  } else {
    OMNI_RETURN_IF_ERROR(sql_->Query(columns + "WHERE reason = ? ORDER BY id DESC LIMIT ?",
                                     {std::string(reason), static_cast<int64_t>(limit)}, row));
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

// ----------------------------------------------------------- recommendations

StatusOr<std::string> DashboardData::Recommendations() {
  JsonWriter w;
  w.BeginObject();
  // The newest readable report; a file being written (*.tmp) or torn is
  // skipped, so the page shows the previous one meanwhile.
  const fs::path dir = fs::path(data_dir_) / "evaluations";
  std::vector<std::pair<int64_t, fs::path>> reports;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.is_regular_file(ec) && e.path().extension() == ".json") reports.emplace_back(MtimeMs(e.path()), e.path());
    }
  }
  std::sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second.filename() > b.second.filename();
  });
  bool shown = false;
  for (const auto& [mtime, path] : reports) {
    StatusOr<std::string> text = ReadFile(path);
    if (!text.ok() || !IsJsonObject(*text)) continue;
    w.Key("evaluation").Raw(*text);
    w.Key("evaluation_file").String(path.filename().string()).Key("evaluated_at").String(Time(mtime));
    shown = true;
    break;
  }
  if (!shown) {
    w.Key("evaluation").Null();
    w.Key("note").String("no evaluation yet: run omni evaluate SPEC --protocol leave-last-out (its report is kept "
                         "in DATA_DIR/evaluations/)");
  }

  // Trained models: the newest version of each, from its metadata sidecar.
  w.Key("models").BeginArray();
  const fs::path models = fs::path(data_dir_) / "models";
  std::vector<fs::path> names;
  if (fs::is_directory(models, ec)) {
    for (const auto& e : fs::directory_iterator(models, ec)) {
      if (e.is_directory(ec)) names.push_back(e.path());
    }
  }
  std::sort(names.begin(), names.end());
  for (const fs::path& m : names) {
    fs::path newest;
    for (const auto& e : fs::directory_iterator(m, ec)) {
      const std::string f = e.path().filename().string();
      if (f.ends_with(".json") && f.find(".tmp") == std::string::npos && f > newest.filename().string()) {
        newest = e.path();
      }
    }
    if (newest.empty()) continue;
    StatusOr<std::string> meta = ReadFile(newest);
    if (!meta.ok() || !IsJsonObject(*meta)) continue;
    w.BeginObject().Key("name").String(m.filename().string()).Key("trained_at").String(Time(MtimeMs(newest)));
    w.Key("meta").Raw(*meta).EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace omni::serve
