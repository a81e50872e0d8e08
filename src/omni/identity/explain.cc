#include "omni/identity/explain.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <set>

#include "omni/identity/identity.h"
#include "omni/identity/tables.h"

namespace omni::identity {
namespace {

struct LinkRow {
  int64_t a, b, first_seq, events;
  std::string first_event_id;
};

}  // namespace

std::string_view LinkKindName(ExplainedLink::Kind kind) {
  switch (kind) {
    case ExplainedLink::Kind::kLinked:
      return "linked";
    case ExplainedLink::Kind::kToShared:
      return "to_shared";
    case ExplainedLink::Kind::kToBlocked:
      return "to_blocked";
    case ExplainedLink::Kind::kRefused:
      return "refused";
    case ExplainedLink::Kind::kOther:
      return "other_customer";
  }
  return "linked";
}

StatusOr<Explanation> Explain(store::Sql& sql, const ingest::Identity& identity, int64_t limit) {
  OMNI_RETURN_IF_ERROR(MigrateIdentityTables(sql));
  OMNI_ASSIGN_OR_RETURN(internal::IdentityState state, internal::ReadIdentityState(sql));
  if (state.generation == 0)
    return FailedPrecondition("identity resolution has not run yet: run omni customers resolve");
  OMNI_ASSIGN_OR_RETURN(std::optional<IdentifierRecord> asked, FindIdentifier(sql, identity));
  if (!asked) {
    return NotFound("no " + std::string(ingest::IdentityTypeName(identity.type)) +
                    " with this value has been seen (or it was erased)");
  }
  Explanation out;
  out.asked = *asked;
  out.customer_key = asked->customer_key;

  absl::flat_hash_map<int64_t, IdentifierRecord> known;  // id -> record
  if (!out.customer_key.empty()) {
    OMNI_RETURN_IF_ERROR(sql.Query("SELECT id FROM identifiers WHERE customer_key = ? ORDER BY id",
                                   {out.customer_key}, [&](const store::SqlRow& row) {
                                     known.emplace(row.Int(0), IdentifierRecord{});
                                     return true;
                                   }));
    for (auto& [id, record] : known) {
      OMNI_ASSIGN_OR_RETURN(std::optional<IdentifierRecord> r, FindIdentifierById(sql, id));
      if (r) record = std::move(*r);
    }
    OMNI_RETURN_IF_ERROR(
        sql.Query("SELECT old_key FROM customer_key_aliases WHERE new_key = ? ORDER BY old_key",
                  {out.customer_key}, [&](const store::SqlRow& row) {
                    out.alias_keys.emplace_back(row.Text(0));
                    return true;
                  }));
  } else {
    known.emplace(asked->id, *asked);
  }
  for (const auto& [id, record] : known) out.identifiers.push_back(record);
  std::sort(out.identifiers.begin(), out.identifiers.end(),
            [](const IdentifierRecord& x, const IdentifierRecord& y) {
              return std::make_pair(static_cast<int>(x.identity.type), x.id) <
                     std::make_pair(static_cast<int>(y.identity.type), y.id);
            });

  // Every link touching the customer, once.
  std::vector<LinkRow> rows;
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const auto& [id, record] : known) {
    for (std::string_view column : {"a", "b"}) {
      OMNI_RETURN_IF_ERROR(sql.Query(
          "SELECT a, b, first_seq, events, first_event_id FROM identity_links WHERE " + std::string(column) +
              " = ?",
          {id}, [&](const store::SqlRow& row) {
            if (seen.emplace(row.Int(0), row.Int(1)).second) {
              rows.push_back({row.Int(0), row.Int(1), row.Int(2), row.Int(3), std::string(row.Text(4))});
            }
            return true;
          }));
    }
  }
  std::sort(rows.begin(), rows.end(), [](const LinkRow& x, const LinkRow& y) {
    return std::tie(x.first_seq, x.a, x.b) < std::tie(y.first_seq, y.a, y.b);
  });

  absl::flat_hash_map<int64_t, IdentifierRecord> others;
  auto record_of = [&](int64_t id) -> StatusOr<IdentifierRecord> {
    if (auto it = known.find(id); it != known.end()) return it->second;
    if (auto it = others.find(id); it != others.end()) return it->second;
    OMNI_ASSIGN_OR_RETURN(std::optional<IdentifierRecord> r, FindIdentifierById(sql, id));
    if (!r)
      return Internal("identity: a link names identifier #" + std::to_string(id) + ", which does not exist");
    others.emplace(id, *r);
    return *r;
  };
  bool have_events = false;
  OMNI_RETURN_IF_ERROR(sql.Query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'", {},
                                 [&](const store::SqlRow&) {
                                   have_events = true;
                                   return false;
                                 }));

  std::set<std::string> adjacent_customers;
  int64_t shown_linked = 0, shown_adjacent = 0;
  for (const LinkRow& row : rows) {
    const bool a_in = known.contains(row.a) && !out.customer_key.empty();
    const bool b_in = known.contains(row.b) && !out.customer_key.empty();
    ExplainedLink link;
    OMNI_ASSIGN_OR_RETURN(link.a, record_of(row.a));
    OMNI_ASSIGN_OR_RETURN(link.b, record_of(row.b));
    if (!a_in && (b_in || row.b == asked->id)) std::swap(link.a, link.b);  // our side first
    link.events = row.events;
    link.first_seq = row.first_seq;
    link.first_event_id = row.first_event_id;
    const IdentifierRecord& other = link.b;
    if (a_in && b_in) {
      link.kind = ExplainedLink::Kind::kLinked;
    } else {
      bool refused = false;
      OMNI_RETURN_IF_ERROR(sql.Query("SELECT holder_a, holder_b FROM identity_refusals WHERE a = ? AND b = ?",
                                     {row.a, row.b}, [&](const store::SqlRow& r) {
                                       refused = true;
                                       link.holder_a = IdentifierRecord{};
                                       link.holder_a->id = r.Int(0);
                                       link.holder_b = IdentifierRecord{};
                                       link.holder_b->id = r.Int(1);
                                       return false;
                                     }));
      if (refused) {
        OMNI_ASSIGN_OR_RETURN(*link.holder_a, record_of(link.holder_a->id));
        OMNI_ASSIGN_OR_RETURN(*link.holder_b, record_of(link.holder_b->id));
        link.kind = ExplainedLink::Kind::kRefused;
      } else if (other.shared) {
        link.kind = ExplainedLink::Kind::kToShared;
      } else if (other.blocked) {
        link.kind = ExplainedLink::Kind::kToBlocked;
      } else {
        link.kind = ExplainedLink::Kind::kOther;
      }
      if (!other.customer_key.empty() && other.customer_key != out.customer_key) {
        adjacent_customers.insert(other.customer_key);
      }
    }
    auto& list = link.kind == ExplainedLink::Kind::kLinked ? out.links : out.adjacent;
    int64_t& shown = link.kind == ExplainedLink::Kind::kLinked ? shown_linked : shown_adjacent;
    if (shown >= limit) {
      ++out.links_not_shown;
      continue;
    }
    ++shown;
    if (have_events) {
      OMNI_RETURN_IF_ERROR(sql.Query("SELECT ts_ms, channel, tz_offset_min FROM events WHERE seq = ?",
                                     {row.first_seq}, [&](const store::SqlRow& r) {
                                       link.first_ts_ms = r.Int(0);
                                       link.first_channel = std::string(r.Text(1));
                                       link.first_tz_offset_min = static_cast<int32_t>(r.Int(2));
                                       return false;
                                     }));
    }
    list.push_back(std::move(link));
  }
  if (out.customer_key.empty())
    out.adjacent_customers.assign(adjacent_customers.begin(), adjacent_customers.end());
  return out;
}

}  // namespace omni::identity
