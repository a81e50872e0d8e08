#include "omni/identity/erasure.h"

#include <absl/container/flat_hash_set.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "omni/identity/directory_file.h"
#include "omni/identity/identifier.h"
#include "omni/identity/tables.h"
#include "omni/store/event_columns.h"

namespace omni::identity {
namespace {

// Rows per DELETE ... IN (...): well under SQLite's default limit of 32766
// host parameters, large enough that the statement overhead vanishes.
constexpr size_t kDeleteBatch = 500;

std::string LikeEscape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

StatusOr<bool> TableHasColumn(store::Sql& sql, std::string_view table, std::string_view column) {
  bool table_exists = false;
  OMNI_RETURN_IF_ERROR(sql.Query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 {std::string(table)}, [&](const store::SqlRow&) {
                                   table_exists = true;
                                   return false;
                                 }));
  if (!table_exists) return false;
  bool found = false;
  OMNI_RETURN_IF_ERROR(
      sql.Query("SELECT name FROM pragma_table_info(?)", {std::string(table)}, [&](const store::SqlRow& row) {
        if (row.Text(0) == column) found = true;
        return !found;
      }));
  return found;
}

}  // namespace

StatusOr<ForgetResult> Forget(store::Store& store, store::Sql& sql, const IdentityConfig& config,
                              const ingest::Identity& identity) {
  const std::string type(ingest::IdentityTypeName(identity.type));
  OMNI_RETURN_IF_ERROR(Resolve(store, sql, config).status());
  OMNI_ASSIGN_OR_RETURN(std::optional<IdentifierRecord> record, FindIdentifier(sql, identity));

  ForgetResult result;
  std::vector<IdentifierRecord> own;
  if (!record) {
    bool tombstoned = false;
    OMNI_RETURN_IF_ERROR(sql.Query("SELECT 1 FROM tombstones WHERE identity_type = ? AND value = ?",
                                   {type, identity.value}, [&](const store::SqlRow&) {
                                     tombstoned = true;
                                     return false;
                                   }));
    if (!tombstoned) return NotFound("no " + type + " with this value has been seen: nothing to forget");
    result.already_forgotten = true;
    IdentifierRecord r;
    r.identity = identity;
    own.push_back(std::move(r));
  } else if (record->shared) {
    return FailedPrecondition("this " + type + " is shared by several persons (" + record->shared_reason +
                              "): it names no one person; forget the person by one of their own identifiers");
  } else if (record->customer_key.empty()) {
    own.push_back(*record);  // blocked: it belongs to no customer, so it alone is erased
  } else {
    result.customer_key = record->customer_key;
    std::vector<int64_t> ids;
    OMNI_RETURN_IF_ERROR(sql.Query("SELECT id FROM identifiers WHERE customer_key = ? ORDER BY id",
                                   {result.customer_key}, [&](const store::SqlRow& row) {
                                     ids.push_back(row.Int(0));
                                     return true;
                                   }));
    for (int64_t id : ids) {
      OMNI_ASSIGN_OR_RETURN(std::optional<IdentifierRecord> r, FindIdentifierById(sql, id));
      if (r) own.push_back(std::move(*r));
    }
  }
  std::stable_sort(own.begin(), own.end(), [&](const IdentifierRecord& x, const IdentifierRecord& y) {
    return config.Rank(x.identity.type) < config.Rank(y.identity.type);
  });
  for (const IdentifierRecord& r : own) result.identifiers.push_back(r.identity);

  // Shared identifiers the person used are kept — they are other persons'
  // too — and reported, so the operator sees that nothing was deleted by
  // them: only events carrying one of the person's own identifiers go.
  std::vector<int64_t> shared_ids;
  for (const IdentifierRecord& r : own) {
    if (r.id == 0) continue;
    for (std::string_view q :
         {"SELECT b FROM identity_links WHERE a = ?", "SELECT a FROM identity_links WHERE b = ?"}) {
      std::vector<int64_t> neighbours;
      OMNI_RETURN_IF_ERROR(sql.Query(q, {r.id}, [&](const store::SqlRow& row) {
        neighbours.push_back(row.Int(0));
        return true;
      }));
      for (int64_t n : neighbours) {
        OMNI_ASSIGN_OR_RETURN(std::optional<IdentifierRecord> other, FindIdentifierById(sql, n));
        if (other && other->shared &&
            std::find(result.shared_kept.begin(), result.shared_kept.end(), other->identity) ==
                result.shared_kept.end()) {
          result.shared_kept.push_back(other->identity);
          shared_ids.push_back(other->id);
        }
      }
    }
  }

  // 2. Tombstones first: from here on no writer stores their events, so the
  // scan below cannot miss one committed while it runs.
  OMNI_RETURN_IF_ERROR(store.AddTombstones(result.identifiers));

  // 3. The events carrying an own identifier. None can precede the earliest
  // first_seq of those identifiers.
  std::array<absl::flat_hash_set<std::string>, kIdentityTypeCount> wanted;
  int64_t from = -1;
  for (const IdentifierRecord& r : own) {
    wanted[static_cast<size_t>(r.identity.type)].insert(r.identity.value);
    const int64_t start = r.id == 0 ? 0 : std::max<int64_t>(0, r.first_seq - 1);
    from = from < 0 ? start : std::min(from, start);
  }
  std::vector<int64_t> seqs;
  OMNI_RETURN_IF_ERROR(
      store.ScanEvents(std::max<int64_t>(from, 0), [&](int64_t seq, const ingest::Event& event) {
        for (const ingest::Identity& i : event.identities) {
          if (wanted[static_cast<size_t>(i.type)].contains(i.value)) {
            seqs.push_back(seq);
            break;
          }
        }
        return true;
      }));

  // Overwrite deleted content instead of leaving it in free pages (SQLite
  // only; another engine ignores the pragma's failure).
  (void)sql.Execute("PRAGMA secure_delete = ON");
  OMNI_ASSIGN_OR_RETURN(bool has_profiles, TableHasColumn(sql, "profiles", "customer_key"));
  OMNI_RETURN_IF_ERROR(sql.InTransaction([&]() -> Status {
    for (size_t i = 0; i < seqs.size(); i += kDeleteBatch) {
      const size_t end = std::min(seqs.size(), i + kDeleteBatch);
      std::string q = "DELETE FROM events WHERE seq IN (";
      std::vector<store::SqlValue> params;
      for (size_t k = i; k < end; ++k) {
        q += k == i ? "?" : ",?";
        params.emplace_back(seqs[k]);
      }
      q += ")";
      OMNI_ASSIGN_OR_RETURN(int64_t n, sql.Execute(q, params));
      result.events_deleted += n;
    }
    // Shared identifiers stay shared once the person's links to them are
    // gone: a family tablet does not become the remaining member's own.
    for (int64_t id : shared_ids) {
      OMNI_RETURN_IF_ERROR(
          sql.Execute("UPDATE identifiers SET pinned_shared = 1 WHERE id = ?", {id}).status());
    }
    for (const IdentifierRecord& r : own) {
      if (r.id != 0) {
        OMNI_ASSIGN_OR_RETURN(int64_t n, sql.Execute("DELETE FROM identifiers WHERE id = ?", {r.id}));
        result.identifiers_deleted += n;
        OMNI_ASSIGN_OR_RETURN(int64_t la, sql.Execute("DELETE FROM identity_links WHERE a = ?", {r.id}));
        OMNI_ASSIGN_OR_RETURN(int64_t lb, sql.Execute("DELETE FROM identity_links WHERE b = ?", {r.id}));
        result.links_deleted += la + lb;
        OMNI_RETURN_IF_ERROR(
            sql.Execute("DELETE FROM identity_refusals WHERE a = ? OR b = ? OR holder_a = ? OR "
                        "holder_b = ?",
                        {r.id, r.id, r.id, r.id})
                .status());
      }
      // Quarantined lines quote non-hashed identifiers verbatim (hashed
      // ones are masked there already).
      if (!r.identity.value.empty() && r.identity.value.size() >= 4 && r.identity.value.size() < 200) {
        std::string pattern = "%\"" + LikeEscape(r.identity.value) + "\"%";
        OMNI_ASSIGN_OR_RETURN(int64_t q,
                              sql.Execute("DELETE FROM quarantine WHERE raw LIKE ? ESCAPE '\\'", {pattern}));
        result.quarantine_deleted += q;
      }
    }
    if (!result.customer_key.empty()) {
      std::vector<std::string> keys = {result.customer_key};
      OMNI_RETURN_IF_ERROR(sql.Query("SELECT old_key FROM customer_key_aliases WHERE new_key = ?",
                                     {result.customer_key}, [&](const store::SqlRow& row) {
                                       keys.emplace_back(row.Text(0));
                                       return true;
                                     }));
      OMNI_ASSIGN_OR_RETURN(
          result.aliases_deleted,
          sql.Execute("DELETE FROM customer_key_aliases WHERE new_key = ?", {result.customer_key}));
      if (has_profiles) {
        for (const std::string& key : keys) {
          OMNI_ASSIGN_OR_RETURN(int64_t n, sql.Execute("DELETE FROM profiles WHERE customer_key = ?", {key}));
          result.profile_rows_deleted += n;
        }
      }
    }
    OMNI_RETURN_IF_ERROR(internal::AppendLog(sql, "forget", result.customer_key,
                                             "erased on request: " + std::to_string(own.size()) +
                                                 " identifiers tombstoned, " +
                                                 std::to_string(result.events_deleted) + " events deleted"));
    // A concurrent resolution that loaded the rows deleted here must not
    // write them back: bumping the generation makes it recompute.
    OMNI_ASSIGN_OR_RETURN(internal::IdentityState state, internal::ReadIdentityState(sql));
    // The stored totals count the person: the next run recomputes them.
    state.settled_config.clear();
    // No columnar snapshot of the events taken before this delete is used
    // again (store/event_columns.h).
    OMNI_RETURN_IF_ERROR(store::BumpEventColumnsGeneration(sql));
    return internal::WriteIdentityState(sql, state);
  }));
  (void)sql.Execute("PRAGMA secure_delete = OFF");
  // The directory file holds the person's (hashed) identifiers: it goes now
  // too, temporary ones included (the generation bumped above already keeps
  // it from being used; the resolution below writes a new one).
  if (std::optional<std::string> data_dir = internal::DataDirOf(sql)) {
    if (Status st = internal::RemoveDirectoryFiles(*data_dir); !st.ok()) {
      spdlog::warn("{}; the next resolution replaces the directory file", st.message());
    }
  }
  // And its file goes now, not at the next read: it holds the person's events.
  // (If that fails, the generation above already keeps it from being read,
  // and the next reader replaces it.) First this process's own batches still
  // on their way to the file: the first batch of a store creates the file,
  // and would otherwise create it again after the removal.
  store.FinishSnapshotAppends();
  if (Status st = store::DiscardEventColumns(sql); !st.ok()) {
    spdlog::warn("identity: could not remove the events snapshot yet ({}); the next build replaces it",
                 st.message());
  }

  // 5. Recompute: links are gone, so exclusive-guard refusals elsewhere on
  // the person's paths may resolve differently.
  OMNI_RETURN_IF_ERROR(Resolve(store, sql, config).status());
  spdlog::info("identity: forgot {} identifiers, {} events", own.size(), result.events_deleted);
  return result;
}

}  // namespace omni::identity
