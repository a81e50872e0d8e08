// CustomerDirectory: the resolution in memory for later stages. Built for
// the profile build's hot loop (CustomerOfEvent over every event): values
// live in one character buffer, per-type hash maps key string_views into it,
// so a lookup hashes the event's string and allocates nothing.
#include <absl/container/flat_hash_map.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <thread>

#include "omni/identity/identifier.h"
#include "omni/identity/identity.h"
#include "omni/identity/tables.h"
#include "omni/store/sqlite_sql.h"

namespace omni::identity {
namespace {

class MemoryDirectory final : public CustomerDirectory {
 public:
  int32_t customer_count() const override { return static_cast<int32_t>(keys_.size()); }

  const std::string& CustomerKey(int32_t dense_id) const override {
    OMNI_CHECK(dense_id >= 0 && dense_id < customer_count());
    return keys_[static_cast<size_t>(dense_id)];
  }

  std::optional<int32_t> DenseIdOfKey(std::string_view key) const override {
    if (auto number = ParseCustomerKey(key)) {
      auto it = std::lower_bound(numbers_.begin(), numbers_.end(), *number);
      if (it != numbers_.end() && *it == *number) return static_cast<int32_t>(it - numbers_.begin());
    }
    if (auto it = aliases_.find(std::string(key)); it != aliases_.end()) return it->second;
    return std::nullopt;
  }

  std::optional<int32_t> CustomerOf(const ingest::Identity& identity) const override {
    OMNI_CHECK(value_index_);  // loaded without (DirectoryOptions::value_index)
    const auto& index = index_[static_cast<size_t>(identity.type)];
    auto it = index.find(std::string_view(identity.value));
    if (it == index.end()) return std::nullopt;
    return customer_[static_cast<size_t>(it->second)];
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
      out.push_back({type_[static_cast<size_t>(i)], std::string(Value(i))});
    }
    std::stable_sort(out.begin(), out.end(), [&](const ingest::Identity& x, const ingest::Identity& y) {
      return rank_[static_cast<size_t>(x.type)] < rank_[static_cast<size_t>(y.type)];
    });
    return out;
  }

  int32_t identifier_count() const override { return static_cast<int32_t>(type_.size()); }

  IdentifierEntry identifier(int32_t i) const override {
    const auto k = static_cast<size_t>(i);
    OMNI_CHECK(k < type_.size());
    return {type_[k], Value(i), first_seq_[k], customer_[k]};
  }

  Status Load(store::Sql& sql, const IdentityConfig& config, const DirectoryOptions& options) {
    value_index_ = options.value_index;
    for (int t = 0; t < kIdentityTypeCount; ++t) {
      rank_[static_cast<size_t>(t)] = config.Rank(static_cast<IdentityType>(t));
    }
    // Rows first (values appended to one buffer), maps after: the buffer
    // must stop growing before views into it are taken.
    //
    // Reading the rows is most of a load without maps: with a second
    // connection, the upper half of the ids is read on another thread and
    // appended after the lower half (so the order stays the table's).
    struct Rows {
      std::vector<IdentityType> type;
      std::vector<int64_t> number;  // the customer's key number
      std::vector<int64_t> first_seq;
      std::string text;
      std::vector<size_t> value_end;
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
            rows.type.push_back(*type);
            rows.number.push_back(*number);
            rows.first_seq.push_back(row.Int(3));
            rows.text.append(row.Text(1));
            rows.value_end.push_back(rows.text.size());
            return true;
          });
      if (!st.ok()) rows.error = st;
    };
    // Two connections read two snapshots: a resolution committed in between
    // (it bumps identity_state.generation) could mix two states, so the
    // halves are kept only when the generation did not move across both
    // reads; otherwise everything is read again on one connection.
    auto generation = [&](int64_t& out) {
      return sql.Query("SELECT generation FROM identity_state WHERE id = 1", {}, [&](const store::SqlRow& row) {
        out = row.Int(0);
        return false;
      });
    };
    Rows lower, upper;
    const int64_t mid =
        options.second_connection && max_id >= std::max<int64_t>(2, options.split_min_identifiers) ? max_id / 2 : max_id;
    if (mid < max_id) {
      int64_t before = 0, after = -1;
      OMNI_RETURN_IF_ERROR(generation(before));
      std::thread other(read, std::ref(*options.second_connection), mid + 1, max_id, std::ref(upper));
      read(sql, std::numeric_limits<int64_t>::min(), mid, lower);
      other.join();
      OMNI_RETURN_IF_ERROR(generation(after));
      if (after != before) {
        lower = Rows();
        upper = Rows();
        read(sql, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), lower);
      }
    } else {
      read(sql, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), lower);
    }
    OMNI_RETURN_IF_ERROR(lower.error);
    OMNI_RETURN_IF_ERROR(upper.error);
    const size_t n = lower.type.size() + upper.type.size();
    std::vector<int64_t> number_of = std::move(lower.number);
    number_of.insert(number_of.end(), upper.number.begin(), upper.number.end());
    type_ = std::move(lower.type);
    type_.insert(type_.end(), upper.type.begin(), upper.type.end());
    first_seq_ = std::move(lower.first_seq);
    first_seq_.insert(first_seq_.end(), upper.first_seq.begin(), upper.first_seq.end());
    text_ = std::move(lower.text);
    text_.append(upper.text);
    value_begin_.resize(n + 1);
    value_begin_[0] = 0;
    for (size_t i = 0; i < lower.value_end.size(); ++i) value_begin_[i + 1] = lower.value_end[i];
    const size_t base = lower.value_end.empty() ? 0 : lower.value_end.back();
    for (size_t i = 0; i < upper.value_end.size(); ++i) {
      value_begin_[lower.value_end.size() + i + 1] = base + upper.value_end[i];
    }

    // Key numbers come from one counter, so they are dense enough to index
    // a table by: customers in key order and each identifier's dense id
    // without sorting or searching 1.3M numbers (a tenth of a second).
    // Sparse numbers (keys from elsewhere) sort and search instead.
    const int64_t max_number = number_of.empty() ? 0 : *std::max_element(number_of.begin(), number_of.end());
    const int64_t min_number = number_of.empty() ? 0 : *std::min_element(number_of.begin(), number_of.end());
    std::vector<int32_t> dense_of;  // number -> dense id, when dense enough
    if (min_number >= 0 && max_number < 16 * static_cast<int64_t>(n) + 4096) {
      dense_of.assign(static_cast<size_t>(max_number) + 1, -1);
      for (int64_t number : number_of) dense_of[static_cast<size_t>(number)] = 0;
      for (size_t number = 0; number < dense_of.size(); ++number) {
        if (dense_of[number] < 0) continue;
        dense_of[number] = static_cast<int32_t>(numbers_.size());
        numbers_.push_back(static_cast<int64_t>(number));
      }
    } else {
      numbers_ = number_of;
      std::sort(numbers_.begin(), numbers_.end());
      numbers_.erase(std::unique(numbers_.begin(), numbers_.end()), numbers_.end());
    }
    keys_.reserve(numbers_.size());
    for (int64_t number : numbers_) keys_.push_back(FormatCustomerKey(number));

    // The per-type value maps (most of the load after the rows) are filled on
    // two threads, each taking whole types (maps are never shared), the
    // larger type counts first to the less loaded thread; this thread also
    // maps identifiers to customers meanwhile.
    std::array<size_t, kIdentityTypeCount> per_type{};
    for (size_t i = 0; i < n; ++i) ++per_type[static_cast<size_t>(type_[i])];
    std::array<int, kIdentityTypeCount> by_size{};
    for (int t = 0; t < kIdentityTypeCount; ++t) by_size[static_cast<size_t>(t)] = t;
    std::sort(by_size.begin(), by_size.end(),
              [&](int a, int b) { return per_type[static_cast<size_t>(a)] > per_type[static_cast<size_t>(b)]; });
    std::array<bool, kIdentityTypeCount> on_other{};
    size_t load[2] = {n / 4, 0};  // this thread also does the customer mapping
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
        const auto t = static_cast<size_t>(type_[i]);
        if (on_other[t] == other) index_[t].emplace(Value(static_cast<int32_t>(i)), static_cast<int32_t>(i));
      }
    };
    std::thread maps;
    if (value_index_) maps = std::thread(fill_maps, true);
    customer_.resize(n);
    offsets_.assign(numbers_.size() + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      const auto dense =
          !dense_of.empty()
              ? dense_of[static_cast<size_t>(number_of[i])]
              : static_cast<int32_t>(std::lower_bound(numbers_.begin(), numbers_.end(), number_of[i]) -
                                     numbers_.begin());
      customer_[i] = dense;
      ++offsets_[static_cast<size_t>(dense) + 1];
    }
    fill_maps(false);
    if (maps.joinable()) maps.join();
    for (size_t c = 0; c < numbers_.size(); ++c) offsets_[c + 1] += offsets_[c];
    members_.resize(n);
    std::vector<int32_t> fill(offsets_.begin(), offsets_.end() - 1);
    for (size_t i = 0; i < n; ++i) {
      members_[static_cast<size_t>(fill[static_cast<size_t>(customer_[i])]++)] = static_cast<int32_t>(i);
    }

    OMNI_RETURN_IF_ERROR(
        sql.Query("SELECT old_key, new_key FROM customer_key_aliases", {}, [&](const store::SqlRow& row) {
          if (auto number = ParseCustomerKey(row.Text(1))) {
            auto it = std::lower_bound(numbers_.begin(), numbers_.end(), *number);
            if (it != numbers_.end() && *it == *number) {
              aliases_.emplace(std::string(row.Text(0)), static_cast<int32_t>(it - numbers_.begin()));
            }
          }
          return true;
        }));
    return Status::Ok();
  }

 private:
  std::string_view Value(int32_t i) const {
    const size_t b = value_begin_[static_cast<size_t>(i)];
    return std::string_view(text_).substr(b, value_begin_[static_cast<size_t>(i) + 1] - b);
  }

  std::array<int, kIdentityTypeCount> rank_{};
  std::vector<int64_t> numbers_;  // dense id -> key number, ascending
  std::vector<std::string> keys_;
  // Per identifier.
  std::vector<IdentityType> type_;
  std::string text_;
  std::vector<size_t> value_begin_;
  std::vector<int32_t> customer_;
  std::vector<int64_t> first_seq_;
  bool value_index_ = true;
  // Per type: value -> identifier index (into type_, customer_, ...).
  std::array<absl::flat_hash_map<std::string_view, int32_t>, kIdentityTypeCount> index_;
  // Customer -> identifiers (CSR).
  std::vector<int32_t> offsets_;
  std::vector<int32_t> members_;
  absl::flat_hash_map<std::string, int32_t> aliases_;
};

}  // namespace

StatusOr<std::unique_ptr<CustomerDirectory>> LoadDirectory(store::Sql& sql, const IdentityConfig& config,
                                                           const DirectoryOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  OMNI_RETURN_IF_ERROR(MigrateIdentityTables(sql));
  auto directory = std::make_unique<MemoryDirectory>();
  OMNI_RETURN_IF_ERROR(directory->Load(sql, config, options));
  spdlog::debug("identity: directory of {} customers loaded in {:.2f} s", directory->customer_count(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return std::unique_ptr<CustomerDirectory>(std::move(directory));
}

StatusOr<std::unique_ptr<CustomerDirectory>> LoadDirectory(const std::string& data_dir) {
  OMNI_ASSIGN_OR_RETURN(IdentityConfig config, LoadIdentityConfig(data_dir));
  OMNI_ASSIGN_OR_RETURN(std::unique_ptr<store::Sql> sql, store::OpenSqliteSql(data_dir));
  return LoadDirectory(*sql, config);
}

}  // namespace omni::identity
