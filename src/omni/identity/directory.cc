// CustomerDirectory: the resolution in memory for later stages. Built for
// the profile build's hot loop (CustomerOfEvent over every event): values
// live in one character buffer, per-type hash maps key string_views into it,
// so a lookup hashes the event's string and allocates nothing.
//
// The arrays it is made of (directory_file.h: DirectoryArrays) come from
// DATA_DIR/identity/directory.bin when that file is current, else from the
// identity tables (and are then written to the file for the next load).
#include <absl/container/flat_hash_map.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <thread>

#include "omni/identity/directory_file.h"
#include "omni/identity/identifier.h"
#include "omni/identity/identity.h"
#include "omni/identity/tables.h"
#include "omni/store/sqlite_sql.h"

namespace omni::identity {
namespace {

using internal::DirectoryArrays;
using internal::DirectoryBuffers;
using internal::DirectoryFile;
using internal::DirectoryStamp;

class MemoryDirectory final : public CustomerDirectory {
 public:
  int32_t customer_count() const override { return static_cast<int32_t>(keys_.size()); }

  const std::string& CustomerKey(int32_t dense_id) const override {
    OMNI_CHECK(dense_id >= 0 && dense_id < customer_count());
    return keys_[static_cast<size_t>(dense_id)];
  }

  std::optional<int32_t> DenseIdOfKey(std::string_view key) const override {
    if (auto number = ParseCustomerKey(key)) {
      auto it = std::lower_bound(a_.numbers.begin(), a_.numbers.end(), *number);
      if (it != a_.numbers.end() && *it == *number) return static_cast<int32_t>(it - a_.numbers.begin());
    }
    if (auto it = aliases_.find(key); it != aliases_.end()) return it->second;
    return std::nullopt;
  }

  std::optional<int32_t> CustomerOf(const ingest::Identity& identity) const override {
    OMNI_CHECK(value_index_);  // loaded without (DirectoryOptions::value_index)
    const auto& index = index_[static_cast<size_t>(identity.type)];
    auto it = index.find(std::string_view(identity.value));
    if (it == index.end()) return std::nullopt;
    return a_.customer[static_cast<size_t>(it->second)];
  }

  std::optional<int32_t> CustomerOfEvent(const ingest::Event& event) const override {
    int best_rank = 1 << 30;
    std::optional<int32_t> best;
    for (const ingest::Identity& identity : event.identities) {
      const int rank = rank_[static_cast<size_t>(identity.type)];
      if (rank >= best_rank) continue;
      if (auto c = CustomerOf(identity)) {
        best = c;
        best_rank = rank;
      }
    }
    return best;
  }

  std::vector<ingest::Identity> IdentifiersOf(int32_t dense_id) const override {
    OMNI_CHECK(dense_id >= 0 && dense_id < customer_count());
    std::vector<ingest::Identity> out;
    for (int32_t k = offsets_[static_cast<size_t>(dense_id)]; k < offsets_[static_cast<size_t>(dense_id) + 1];
         ++k) {
      const int32_t i = members_[static_cast<size_t>(k)];
      out.push_back({Type(i), std::string(Value(i))});
    }
    std::stable_sort(out.begin(), out.end(), [&](const ingest::Identity& x, const ingest::Identity& y) {
      return rank_[static_cast<size_t>(x.type)] < rank_[static_cast<size_t>(y.type)];
    });
    return out;
  }

  int32_t identifier_count() const override { return static_cast<int32_t>(a_.type.size()); }

  IdentifierEntry identifier(int32_t i) const override {
    const auto k = static_cast<size_t>(i);
    OMNI_CHECK(k < a_.type.size());
    return {Type(i), Value(i), a_.first_seq[k], a_.customer[k]};
  }

  // Reads the identity tables into buffers_. Sets `consistent` when they
  // were read under one state of the tables (`stamp`, read before).
  Status ReadTables(store::Sql& sql, const DirectoryOptions& options, const DirectoryStamp& stamp,
                    bool& consistent);
  // Takes the arrays of a validated file.
  void Adopt(DirectoryFile file) {
    file_ = std::move(file);
    a_ = file_->arrays();
  }
  // The derived parts, whatever the arrays came from.
  void Build(const IdentityConfig& config, const DirectoryOptions& options);
  const DirectoryArrays& arrays() const { return a_; }

 private:
  IdentityType Type(int32_t i) const { return static_cast<IdentityType>(a_.type[static_cast<size_t>(i)]); }
  std::string_view Value(int32_t i) const {
    const uint64_t b = a_.value_begin[static_cast<size_t>(i)];
    return a_.text.substr(b, a_.value_begin[static_cast<size_t>(i) + 1] - b);
  }

  // The arrays (a_) view either buffers_ (read from the tables) or file_.
  DirectoryBuffers buffers_;
  std::optional<DirectoryFile> file_;
  DirectoryArrays a_;

  std::array<int, kIdentityTypeCount> rank_{};
  std::vector<std::string> keys_;  // per customer
  bool value_index_ = true;
  // Per type: value -> identifier index.
  std::array<absl::flat_hash_map<std::string_view, int32_t>, kIdentityTypeCount> index_;
  // Customer -> identifiers (CSR).
  std::vector<int32_t> offsets_;
  std::vector<int32_t> members_;
  absl::flat_hash_map<std::string_view, int32_t> aliases_;  // keys view a_.alias_text
};

Status MemoryDirectory::ReadTables(store::Sql& sql, const DirectoryOptions& options, const DirectoryStamp& stamp,
                                   bool& consistent) {
  // Reading the rows is most of a load without maps: with a second
  // connection, the upper half of the ids is read on another thread and
  // appended after the lower half (so the order stays the table's).
  struct Rows {
    std::vector<uint8_t> type;
    std::vector<int64_t> number;  // the customer's key number
    std::vector<int64_t> first_seq;
    std::string text;
    std::vector<uint64_t> value_end;
    Status error;
  };
  int64_t max_id = 0;
  OMNI_RETURN_IF_ERROR(sql.Query("SELECT max(id) FROM identifiers", {}, [&](const store::SqlRow& row) {
    max_id = row.IsNull(0) ? 0 : row.Int(0);
    return false;
  }));
  auto read = [](store::Sql& conn, int64_t from_id, int64_t to_id, Rows& rows) {
    const auto expected = static_cast<size_t>(std::max<int64_t>(0, to_id - from_id + 1));
    rows.type.reserve(expected);
    rows.number.reserve(expected);
    rows.first_seq.reserve(expected);
    rows.value_end.reserve(expected);
    rows.text.reserve(expected * 24);  // hashed values are 32 hex digits, ids and cookies vary
    Status st = conn.Query(
        "SELECT type, value, customer_key, first_seq FROM identifiers "
        "WHERE id BETWEEN ? AND ? AND customer_key IS NOT NULL",
        {from_id, to_id}, [&](const store::SqlRow& row) {
          auto type = ingest::ParseIdentityType(row.Text(0));
          auto number = ParseCustomerKey(row.Text(2));
          if (!type || !number) {
            rows.error = Internal("identity: malformed identifiers row (type or customer_key)");
            return false;
          }
          rows.type.push_back(static_cast<uint8_t>(*type));
          rows.number.push_back(*number);
          rows.first_seq.push_back(row.Int(3));
          rows.text.append(row.Text(1));
          rows.value_end.push_back(rows.text.size());
          return true;
        });
    if (!st.ok()) rows.error = st;
  };
  // Two connections read two snapshots, and so do the rows and the aliases:
  // a resolution committed in between (it bumps identity_state.generation)
  // could mix two states. The halves are kept only when the stamp did not
  // move across both reads (otherwise everything is read again on one
  // connection), and the arrays are written to the file only when it did
  // not move across the whole read.
  auto current = [&](DirectoryStamp& out) -> Status {
    OMNI_ASSIGN_OR_RETURN(internal::IdentityState state, internal::ReadIdentityState(sql));
    out = DirectoryStamp::Of(state);
    return Status::Ok();
  };
  Rows lower, upper;
  const int64_t mid =
      options.second_connection && max_id >= std::max<int64_t>(2, options.split_min_identifiers) ? max_id / 2 : max_id;
  bool reread = false;
  if (mid < max_id) {
    std::thread other(read, std::ref(*options.second_connection), mid + 1, max_id, std::ref(upper));
    read(sql, std::numeric_limits<int64_t>::min(), mid, lower);
    other.join();
    DirectoryStamp after;
    OMNI_RETURN_IF_ERROR(current(after));
    if (after != stamp) {
      reread = true;
      lower = Rows();
      upper = Rows();
      read(sql, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), lower);
    }
  } else {
    read(sql, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), lower);
  }
  OMNI_RETURN_IF_ERROR(lower.error);
  OMNI_RETURN_IF_ERROR(upper.error);
  DirectoryBuffers& b = buffers_;
  const size_t n = lower.type.size() + upper.type.size();
  std::vector<int64_t> number_of = std::move(lower.number);
  number_of.insert(number_of.end(), upper.number.begin(), upper.number.end());
  b.type = std::move(lower.type);
  b.type.insert(b.type.end(), upper.type.begin(), upper.type.end());
  b.first_seq = std::move(lower.first_seq);
  b.first_seq.insert(b.first_seq.end(), upper.first_seq.begin(), upper.first_seq.end());
  b.text = std::move(lower.text);
  b.text.append(upper.text);
  b.value_begin.resize(n + 1);
  b.value_begin[0] = 0;
  for (size_t i = 0; i < lower.value_end.size(); ++i) b.value_begin[i + 1] = lower.value_end[i];
  const uint64_t base = lower.value_end.empty() ? 0 : lower.value_end.back();
  for (size_t i = 0; i < upper.value_end.size(); ++i) {
    b.value_begin[lower.value_end.size() + i + 1] = base + upper.value_end[i];
  }
  b.AssignCustomers(number_of);

  OMNI_RETURN_IF_ERROR(
      sql.Query("SELECT old_key, new_key FROM customer_key_aliases", {}, [&](const store::SqlRow& row) {
        if (auto number = ParseCustomerKey(row.Text(1))) b.AddAlias(row.Text(0), *number);
        return true;
      }));
  DirectoryStamp after;
  OMNI_RETURN_IF_ERROR(current(after));
  consistent = !reread && after == stamp;
  a_ = b.View();
  return Status::Ok();
}

void MemoryDirectory::Build(const IdentityConfig& config, const DirectoryOptions& options) {
  value_index_ = options.value_index;
  for (int t = 0; t < kIdentityTypeCount; ++t) {
    rank_[static_cast<size_t>(t)] = config.Rank(static_cast<IdentityType>(t));
  }
  const size_t n = a_.type.size();
  keys_.reserve(a_.numbers.size());
  for (int64_t number : a_.numbers) keys_.push_back(FormatCustomerKey(number));

  // The per-type value maps (most of the load after the rows) are filled on
  // two threads, each taking whole types (maps are never shared), the
  // larger type counts first to the less loaded thread; this thread also
  // builds the customers' identifier lists meanwhile.
  std::array<size_t, kIdentityTypeCount> per_type{};
  for (size_t i = 0; i < n; ++i) ++per_type[a_.type[i]];
  std::array<int, kIdentityTypeCount> by_size{};
  for (int t = 0; t < kIdentityTypeCount; ++t) by_size[static_cast<size_t>(t)] = t;
  std::sort(by_size.begin(), by_size.end(),
            [&](int x, int y) { return per_type[static_cast<size_t>(x)] > per_type[static_cast<size_t>(y)]; });
  std::array<bool, kIdentityTypeCount> on_other{};
  size_t load[2] = {n / 4, 0};  // this thread also builds the lists
  for (int t : by_size) {
    const int side = load[1] < load[0] ? 1 : 0;
    on_other[static_cast<size_t>(t)] = side == 1;
    load[side] += per_type[static_cast<size_t>(t)];
  }
  auto fill_maps = [&](bool other) {
    if (!value_index_) return;
    for (int t = 0; t < kIdentityTypeCount; ++t) {
      const auto type = static_cast<size_t>(t);
      if (on_other[type] == other) index_[type].reserve(per_type[type]);
    }
    for (size_t i = 0; i < n; ++i) {
      const auto t = static_cast<size_t>(a_.type[i]);
      if (on_other[t] == other) index_[t].emplace(Value(static_cast<int32_t>(i)), static_cast<int32_t>(i));
    }
  };
  std::thread maps;
  if (value_index_) maps = std::thread(fill_maps, true);
  offsets_.assign(a_.numbers.size() + 1, 0);
  for (size_t i = 0; i < n; ++i) ++offsets_[static_cast<size_t>(a_.customer[i]) + 1];
  for (size_t c = 0; c < a_.numbers.size(); ++c) offsets_[c + 1] += offsets_[c];
  members_.resize(n);
  std::vector<int32_t> fill(offsets_.begin(), offsets_.end() - 1);
  for (size_t i = 0; i < n; ++i) {
    members_[static_cast<size_t>(fill[static_cast<size_t>(a_.customer[i])]++)] = static_cast<int32_t>(i);
  }
  aliases_.reserve(a_.aliases());
  for (size_t k = 0; k < a_.aliases(); ++k) {
    aliases_.emplace(a_.alias_text.substr(a_.alias_begin[k], a_.alias_begin[k + 1] - a_.alias_begin[k]),
                     a_.alias_customer[k]);
  }
  fill_maps(false);
  if (maps.joinable()) maps.join();
}

}  // namespace

StatusOr<std::unique_ptr<CustomerDirectory>> LoadDirectory(store::Sql& sql, const IdentityConfig& config,
                                                           const DirectoryOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  OMNI_RETURN_IF_ERROR(MigrateIdentityTables(sql));
  OMNI_ASSIGN_OR_RETURN(internal::IdentityState state, internal::ReadIdentityState(sql));
  const DirectoryStamp stamp = DirectoryStamp::Of(state);
  const std::optional<std::string> data_dir = options.use_file ? internal::DataDirOf(sql) : std::nullopt;
  auto directory = std::make_unique<MemoryDirectory>();
  const char* source = "identity tables";
  bool from_file = false;
  if (data_dir) {
    StatusOr<DirectoryFile> file = DirectoryFile::Read(internal::DirectoryFilePath(*data_dir), stamp);
    if (file.ok()) {
      directory->Adopt(std::move(file).value());
      from_file = true;
      source = "file";
    } else if (file.status().code() == StatusCode::kInternal) {
      spdlog::warn("{}; reading the identity tables instead", file.status().message());
    } else {
      spdlog::debug("{}", file.status().message());
    }
  }
  if (!from_file) {
    bool consistent = false;
    OMNI_RETURN_IF_ERROR(directory->ReadTables(sql, options, stamp, consistent));
    // Generation 0: nothing was ever resolved (and tests that write rows by
    // hand do not bump it); nothing worth keeping either.
    if (data_dir && consistent && stamp.generation > 0) {
      const auto t = std::chrono::steady_clock::now();
      if (Status st = internal::WriteDirectoryFile(sql, *data_dir, stamp, directory->arrays()); !st.ok()) {
        spdlog::warn("{}; the next load reads the identity tables again", st.message());
      } else {
        spdlog::debug("identity: directory file written in {:.2f} s",
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
      }
    }
  }
  directory->Build(config, options);
  spdlog::debug("identity: directory of {} customers loaded in {:.2f} s (from the {})",
                directory->customer_count(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), source);
  return std::unique_ptr<CustomerDirectory>(std::move(directory));
}

StatusOr<std::unique_ptr<CustomerDirectory>> LoadDirectory(const std::string& data_dir) {
  OMNI_ASSIGN_OR_RETURN(IdentityConfig config, LoadIdentityConfig(data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(data_dir));
  return LoadDirectory(*sql, config);
}

}  // namespace omni::identity
