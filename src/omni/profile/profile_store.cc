#include "omni/profile/profile_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <mutex>
#include <thread>
#include <cmath>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <time.h>

#include <absl/container/flat_hash_map.h>

#include "omni/profile/profile_detail.h"
#include "omni/store/sqlite_sql.h"

namespace omni::profile {
namespace {

// One statement per step (portable: PostgreSQL's driver runs one at a time).
const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> kSteps = {
      "CREATE TABLE profiles("
      "customer_key TEXT PRIMARY KEY, first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, "
      "tenure_days REAL NOT NULL, events INTEGER NOT NULL, identified INTEGER NOT NULL, first_purchase_ms INTEGER NOT NULL, "
      "last_purchase_ms INTEGER NOT NULL, recency_days REAL, frequency INTEGER NOT NULL, "
      "monetary REAL NOT NULL, gross_sales REAL NOT NULL, refunds REAL NOT NULL, avg_basket REAL, "
      "refund_rate REAL, r_score INTEGER NOT NULL, f_score INTEGER NOT NULL, m_score INTEGER NOT NULL, "
      "rfm_cell TEXT, rfm_group TEXT, preferred_channel TEXT, online_to_store INTEGER NOT NULL, "
      "store_to_online INTEGER NOT NULL, expected_purchases_90d REAL, p_alive REAL, clv_12m REAL, "
      "detail TEXT NOT NULL)",
      "CREATE TABLE profile_builds("
      "id INTEGER PRIMARY KEY, as_of_ms INTEGER NOT NULL, built_at_ms INTEGER NOT NULL, "
      "customers INTEGER NOT NULL, buyers INTEGER NOT NULL, events_used INTEGER NOT NULL, "
      "last_seq INTEGER NOT NULL, clv TEXT NOT NULL)",
      "CREATE TABLE segments("
      "name TEXT PRIMARY KEY, expression TEXT NOT NULL, description TEXT NOT NULL, "
      "created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL)",
      // Channel, category and brand names that binary details (version 3,
      // profile_detail.h) refer to by id. Ids are never reused or renumbered,
      // so a reader's copy stays right while later builds add names.
      "CREATE TABLE profile_names(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
  };
  return kSteps;
}

constexpr const char* kColumns =
    "customer_key, first_seen_ms, last_seen_ms, tenure_days, events, identified, first_purchase_ms, last_purchase_ms, "
    "recency_days, frequency, monetary, gross_sales, refunds, avg_basket, refund_rate, r_score, f_score, "
    "m_score, rfm_cell, rfm_group, preferred_channel, online_to_store, store_to_online, "
    "expected_purchases_90d, p_alive, clv_12m, detail";

store::SqlValue Real(double v) {
  if (std::isnan(v)) return std::monostate{};
  return v;
}

store::SqlValue TextOrNull(std::string v) {
  if (v.empty()) return std::monostate{};
  return v;
}

double RealOrNan(const store::SqlRow& r, int col) { return r.IsNull(col) ? kNotAvailable : r.Double(col); }

RfmGroup GroupNamed(std::string_view name) {
  for (int g = 1; g < kRfmGroupCount; ++g) {
    if (RfmGroupName(static_cast<RfmGroup>(g)) == name) return static_cast<RfmGroup>(g);
  }
  return RfmGroup::kNone;
}

// The scalar columns of a profiles row; the detail (column 26) is read by
// ProfileStore::ReadProfile, which holds the names it refers to.
void ReadScalars(const store::SqlRow& r, Profile& p) {
  p.customer_key = std::string(r.Text(0));
  p.first_seen_ms = r.Int(1);
  p.last_seen_ms = r.Int(2);
  p.tenure_days = r.Double(3);
  p.events = r.Int(4);
  p.identified = r.Int(5) != 0;
  p.first_purchase_ms = r.Int(6);
  p.last_purchase_ms = r.Int(7);
  p.recency_days = RealOrNan(r, 8);
  p.frequency = r.Int(9);
  p.monetary = r.Double(10);
  p.gross_sales = r.Double(11);
  p.refunds = r.Double(12);
  p.avg_basket = RealOrNan(r, 13);
  p.refund_rate = RealOrNan(r, 14);
  p.r_score = static_cast<int>(r.Int(15));
  p.f_score = static_cast<int>(r.Int(16));
  p.m_score = static_cast<int>(r.Int(17));
  p.rfm_group = GroupNamed(r.Text(19));
  p.preferred_channel = std::string(r.Text(20));
  p.online_to_store = r.Int(21);
  p.store_to_online = r.Int(22);
  p.expected_purchases_90d = RealOrNan(r, 23);
  p.p_alive = RealOrNan(r, 24);
  p.clv_12m = RealOrNan(r, 25);
}

using Row = std::vector<store::SqlValue>;
constexpr size_t kColumnCount = 27;
constexpr size_t kRowsPerInsert = 32;

// The profiles row of one profile, in kColumns order.
Row EncodeProfile(const Profile& p, absl::FunctionRef<int64_t(std::string_view)> name_id) {
  Row params(kColumnCount);
  params[0] = p.customer_key;
  params[1] = p.first_seen_ms;
  params[2] = p.last_seen_ms;
  params[3] = p.tenure_days;
  params[4] = p.events;
  params[5] = static_cast<int64_t>(p.identified);
  params[6] = p.first_purchase_ms;
  params[7] = p.last_purchase_ms;
  params[8] = Real(p.recency_days);
  params[9] = p.frequency;
  params[10] = p.monetary;
  params[11] = p.gross_sales;
  params[12] = p.refunds;
  params[13] = Real(p.avg_basket);
  params[14] = Real(p.refund_rate);
  params[15] = static_cast<int64_t>(p.r_score);
  params[16] = static_cast<int64_t>(p.f_score);
  params[17] = static_cast<int64_t>(p.m_score);
  params[18] = TextOrNull(p.RfmCell());
  params[19] = TextOrNull(std::string(RfmGroupName(p.rfm_group)));
  params[20] = TextOrNull(p.preferred_channel);
  params[21] = p.online_to_store;
  params[22] = p.store_to_online;
  params[23] = Real(p.expected_purchases_90d);
  params[24] = Real(p.p_alive);
  params[25] = Real(p.clv_12m);
  store::SqlBlob detail;
  EncodeProfileDetail(p, name_id, detail.bytes);
  params[26] = std::move(detail);
  return params;
}

// CPU seconds of the calling thread: on a shared machine, wall time does not
// say which side of the write (encoding or inserting) is the bottleneck.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status MigrateProfileTables(store::Sql& sql) { return sql.Migrate("profile", Migrations()); }

StatusOr<std::unique_ptr<ProfileStore>> ProfileStore::Open(const std::string& data_dir) {
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(data_dir));
  return Over(std::move(sql));
}

StatusOr<std::unique_ptr<ProfileStore>> ProfileStore::Over(std::unique_ptr<store::Sql> sql) {
  OMNI_RETURN_IF_ERROR(MigrateProfileTables(*sql));
  return std::unique_ptr<ProfileStore>(new ProfileStore(std::move(sql)));
}

StatusOr<int64_t> ProfileStore::ReplaceProfiles(ProfileBuildInfo info,
                                                const std::function<Status(const ProfileWriter&)>& produce) {
  return ReplaceProfiles(std::move(info), 1, 1,
                         [&](int64_t, const ProfileWriter& write) { return produce(write); });
}

StatusOr<int64_t> ProfileStore::ReplaceProfiles(ProfileBuildInfo info, int64_t chunks, int threads,
                                                const ChunkProducer& produce_chunk) {
  std::string row_placeholders = "(?";
  for (size_t k = 1; k < kColumnCount; ++k) row_placeholders += ",?";
  row_placeholders += ")";
  const std::string insert = std::string("INSERT INTO profiles(") + kColumns + ") VALUES " + row_placeholders;
  std::string insert_many = insert;
  for (size_t k = 1; k < kRowsPerInsert; ++k) insert_many += "," + row_placeholders;
  threads = std::max(1, threads);
  int64_t build_id = 0;
  info.built_at_ms = NowMs();
  info.customers = 0;
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  Clock::time_point body_end;
  OMNI_RETURN_IF_ERROR(sql_->InTransaction([&]() -> Status {
    // Producing (assembling profiles, encoding rows, JSON) runs on other
    // threads while this one inserts: on two cores the write phase costs
    // about the larger of the two instead of their sum. The connection stays
    // on this thread. Each open part streams its rows in batches through its
    // own queue; this thread drains the parts in order.
    using Batch = std::vector<Row>;
    constexpr size_t kBatchRows = 512;
    // Batches waiting per open part: room for a whole part of the profile
    // build (8192 profiles), so the producer of the next part never waits
    // for the inserter to reach it. With 4, that producer sat idle while the
    // inserter finished the part before (the early customers' parts are the
    // heaviest): the 10M demo's write phase took 1.31-1.62 s, now
    // 1.10-1.27 s. Memory stays bounded by the parts open (`threads`).
    constexpr size_t kMaxQueued = 16;
    struct Part {
      std::deque<Batch> queue;
      bool done = false;
      Status status;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Part> open;     // parts [inserting, inserting + open.size())
    int64_t inserting = 0;     // the part this thread is storing
    int64_t next_part = 0;     // the next part a producer takes
    bool stop = false;         // a side failed: stop everything
    std::atomic<int64_t> produce_cpu_us{0};
    const double insert_cpu_start = ThreadCpuSeconds();
    // Names the details refer to (profile_names): the table's ids, then the
    // build's listed names (info.names) numbered in their order, and any
    // other name numbered on first use by whichever producer meets it; this
    // thread stores new ones with the rows, in the same transaction. Each
    // producer keeps its own copy of the ids it has used, so the shared map
    // is locked once per name and thread, not per profile.
    struct Names {
      std::mutex mu;
      absl::flat_hash_map<std::string, int64_t> ids;
      int64_t next = 0;
      std::vector<std::pair<int64_t, std::string>> fresh;  // numbered, not stored yet
    } names;
    OMNI_RETURN_IF_ERROR(sql_->Query("SELECT id, name FROM profile_names", {}, [&](const store::SqlRow& r) {
      names.ids.emplace(std::string(r.Text(1)), r.Int(0));
      names.next = std::max(names.next, r.Int(0) + 1);
      return true;
    }));
    for (const std::string& name : info.names) {
      auto [it, added] = names.ids.try_emplace(name, names.next);
      if (added) names.fresh.emplace_back(names.next++, name);
    }
    auto store_fresh_names = [&]() -> Status {
      std::vector<std::pair<int64_t, std::string>> fresh;
      {
        std::lock_guard lock(names.mu);
        fresh.swap(names.fresh);
      }
      for (auto& [id, name] : fresh) {
        OMNI_RETURN_IF_ERROR(
            sql_->Execute("INSERT INTO profile_names(id, name) VALUES (?, ?)", {id, std::move(name)}).status());
      }
      return Status::Ok();
    };
    auto producer = [&] {
      const double cpu_start = ThreadCpuSeconds();
      absl::flat_hash_map<std::string, int64_t> known;  // this thread's copy
      auto name_id = [&](std::string_view name) -> int64_t {
        // (absl's own string_view: Debian's absl does not alias std's.)
        if (auto it = known.find(absl::string_view(name.data(), name.size())); it != known.end()) return it->second;
        std::lock_guard lock(names.mu);
        auto [it, added] = names.ids.try_emplace(std::string(name), names.next);
        if (added) names.fresh.emplace_back(names.next++, std::string(name));
        known.emplace(std::string(name), it->second);
        return it->second;
      };
      for (;;) {
        int64_t part = 0;
        {
          std::unique_lock lock(mu);
          // At most `threads` parts open: a producer far ahead would buffer.
          cv.wait(lock, [&] { return stop || next_part >= chunks || next_part < inserting + threads; });
          if (stop || next_part >= chunks) break;
          part = next_part++;
          open.emplace_back();
        }
        auto slot = [&]() -> Part& { return open[static_cast<size_t>(part - inserting)]; };  // under mu
        Batch batch;
        batch.reserve(kBatchRows);
        auto hand_over = [&]() -> bool {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return stop || slot().queue.size() < kMaxQueued; });
          if (stop) return false;
          slot().queue.push_back(std::move(batch));
          batch = Batch();
          batch.reserve(kBatchRows);
          cv.notify_all();
          return true;
        };
        Status st = produce_chunk(part, [&](const Profile& p) -> Status {
          batch.push_back(EncodeProfile(p, name_id));
          if (batch.size() == kBatchRows && !hand_over()) return Internal("profile write stopped");
          return Status::Ok();
        });
        if (st.ok() && !batch.empty() && !hand_over()) st = Internal("profile write stopped");
        std::lock_guard lock(mu);
        slot().done = true;
        slot().status = std::move(st);
        cv.notify_all();
      }
      produce_cpu_us += static_cast<int64_t>((ThreadCpuSeconds() - cpu_start) * 1e6);
    };
    std::vector<std::thread> producers;
    for (int t = 0; t < threads; ++t) producers.emplace_back(producer);
    // The previous build goes while the producers fill their first batches.
    const auto delete_start = Clock::now();
    Status write_status = sql_->Execute("DELETE FROM profiles").status();
    spdlog::debug("profiles: previous build deleted in {:.2f} s", since(delete_start));
    while (write_status.ok()) {
      Batch batch;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] {
          return inserting >= chunks || (!open.empty() && (!open.front().queue.empty() || open.front().done));
        });
        if (inserting >= chunks) break;
        Part& part = open.front();
        if (part.queue.empty()) {  // done, and everything it wrote is stored
          write_status = std::move(part.status);
          open.pop_front();
          ++inserting;
          cv.notify_all();
          continue;
        }
        batch = std::move(part.queue.front());
        part.queue.pop_front();
        cv.notify_all();
      }
      // Rows go kRowsPerInsert to a statement (one statement's overhead,
      // binding and cursor set-up, for all of them), the rest one by one.
      size_t r = 0;
      for (; write_status.ok() && r + kRowsPerInsert <= batch.size(); r += kRowsPerInsert) {
        Row params;
        params.reserve(kRowsPerInsert * kColumnCount);
        for (size_t k = r; k < r + kRowsPerInsert; ++k) {
          std::move(batch[k].begin(), batch[k].end(), std::back_inserter(params));
        }
        write_status = sql_->Execute(insert_many, params).status();
        if (write_status.ok()) info.customers += kRowsPerInsert;
      }
      for (; write_status.ok() && r < batch.size(); ++r) {
        write_status = sql_->Execute(insert, batch[r]).status();
        if (write_status.ok()) ++info.customers;
      }
      if (write_status.ok()) write_status = store_fresh_names();
    }
    {
      std::lock_guard lock(mu);
      if (!write_status.ok()) stop = true;
      cv.notify_all();
    }
    for (std::thread& t : producers) t.join();
    spdlog::debug("profiles: assembled and encoded in {:.2f} s CPU on {} thread(s), inserted in {:.2f} s CPU",
                  static_cast<double>(produce_cpu_us.load()) * 1e-6, threads, ThreadCpuSeconds() - insert_cpu_start);
    OMNI_RETURN_IF_ERROR(write_status);
    OMNI_RETURN_IF_ERROR(store_fresh_names());  // what the last batches named
    // Only the latest build's row matters; older ones are kept as a history.
    OMNI_RETURN_IF_ERROR(sql_->Execute("INSERT INTO profile_builds(as_of_ms, built_at_ms, customers, buyers, "
                                       "events_used, last_seq, clv) VALUES (?,?,?,?,?,?,?)",
                                       {info.as_of_ms, info.built_at_ms, info.customers, info.buyers,
                                        info.events_used, info.last_seq,
                                        info.clv_json.empty() ? std::string("{}") : info.clv_json})
                             .status());
    body_end = Clock::now();
    return sql_->Query("SELECT max(id) FROM profile_builds", {}, [&](const store::SqlRow& r) {
      build_id = r.Int(0);
      return false;
    });
  }));
  spdlog::debug("profiles: committed in {:.2f} s", since(body_end));
  return build_id;
}

Status ProfileStore::LoadNames() {
  names_.clear();
  return sql_->Query("SELECT id, name FROM profile_names", {}, [&](const store::SqlRow& r) {
    const int64_t id = r.Int(0);
    if (id >= 0 && id < (int64_t{1} << 24)) {  // ids are dense from 0; a wild one is not a vector size
      if (static_cast<size_t>(id) >= names_.size()) names_.resize(static_cast<size_t>(id) + 1);
      names_[static_cast<size_t>(id)] = std::string(r.Text(1));
    }
    return true;
  });
}

Status ProfileStore::ReadProfile(const store::SqlRow& r, Profile& p) {
  ReadScalars(r, p);
  const std::string_view detail = r.Text(26);
  Status st;
  if (IsBinaryProfileDetail(detail)) {
    int64_t missing = -1;
    st = DecodeProfileDetail(detail, names_, p, &missing);
    if (st.code() == StatusCode::kNotFound) {  // names added by a build after our copy
      OMNI_RETURN_IF_ERROR(LoadNames());
      st = DecodeProfileDetail(detail, names_, p);
    }
  } else {
    st = ParseProfileDetailJson(detail, p);  // written by an older omni
  }
  if (!st.ok()) return InvalidArgument("profile " + p.customer_key + ": " + st.message());
  return Status::Ok();
}

StatusOr<std::optional<Profile>> ProfileStore::GetProfile(std::string_view customer_key) {
  std::optional<Profile> out;
  Status read = Status::Ok();
  OMNI_RETURN_IF_ERROR(sql_->Query(std::string("SELECT ") + kColumns + " FROM profiles WHERE customer_key = ?",
                                   {std::string(customer_key)}, [&](const store::SqlRow& r) {
                                     out.emplace();
                                     read = ReadProfile(r, *out);
                                     return false;
                                   }));
  OMNI_RETURN_IF_ERROR(read);
  return out;
}

Status ProfileStore::ScanProfiles(const std::function<bool(const Profile&)>& fn) {
  Profile p;
  Status read = Status::Ok();
  OMNI_RETURN_IF_ERROR(sql_->Query(std::string("SELECT ") + kColumns + " FROM profiles ORDER BY customer_key", {},
                                   [&](const store::SqlRow& r) {
                                     read = ReadProfile(r, p);
                                     if (!read.ok()) return false;
                                     return fn(p);
                                   }));
  return read;
}

StatusOr<int64_t> ProfileStore::CountProfiles() {
  int64_t n = 0;
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT count(*) FROM profiles", {}, [&](const store::SqlRow& r) {
    n = r.Int(0);
    return false;
  }));
  return n;
}

StatusOr<std::optional<ProfileBuildInfo>> ProfileStore::LatestBuild() {
  std::optional<ProfileBuildInfo> out;
  OMNI_RETURN_IF_ERROR(sql_->Query(
      "SELECT id, as_of_ms, built_at_ms, customers, buyers, events_used, last_seq, clv FROM profile_builds "
      "ORDER BY id DESC LIMIT 1",
      {}, [&](const store::SqlRow& r) {
        ProfileBuildInfo b;
        b.id = r.Int(0);
        b.as_of_ms = r.Int(1);
        b.built_at_ms = r.Int(2);
        b.customers = r.Int(3);
        b.buyers = r.Int(4);
        b.events_used = r.Int(5);
        b.last_seq = r.Int(6);
        b.clv_json = std::string(r.Text(7));
        out = std::move(b);
        return false;
      }));
  return out;
}

}  // namespace omni::profile
