// Resolution runs: load the recorded graph, add new events, recompute the
// partition (partition.h), write the difference.
//
// Why recompute the whole partition every run rather than patch it: the
// guards are not monotone — a shared flag raised by one new event undoes
// merges that older events made, and the exclusive guard's choice of which
// link to refuse depends on all links of the component. Recomputing from the
// recorded links (not from the events: those are read once) costs about a
// second per few million links and makes incremental runs give exactly the
// from-scratch result. What stays incremental is what is expensive: reading
// events (only those after the watermark) and writing rows (only those that
// changed).
#include "omni/identity/resolver.h"

#include <absl/container/flat_hash_set.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <map>

#include "omni/common/progress.h"
#include "omni/identity/directory_file.h"
#include "omni/identity/identifier.h"

namespace omni::identity {
namespace internal {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Process CPU seconds, for the debug log: on a shared machine wall time
// says little about where the work is.
double CpuSeconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

size_t Idx(int32_t i) { return static_cast<size_t>(i); }

// Above this many new rows, and more than are stored, a run counts as a bulk
// load (see Commit).
constexpr int64_t kBulkRows = 50000;

uint64_t LinkKey(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

std::string NodeName(int64_t id, IdentityType type) {
  return "identifier #" + std::to_string(id) + " (" + std::string(ingest::IdentityTypeName(type)) + ")";
}

}  // namespace

std::string EncodeTotals(const ResolveStats& s) {
  return fmt::format("identifiers={} links={} customers={} shared={} blocked={} refused_links={}", s.identifiers,
                     s.links, s.customers, s.shared, s.blocked, s.refused_links);
}

bool DecodeTotals(std::string_view text, ResolveStats& s) {
  ResolveStats out;
  int fields = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t space = rest.find(' ');
    const std::string_view item = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    int64_t value = 0;
    const std::string_view digits = item.substr(eq + 1);
    if (std::from_chars(digits.data(), digits.data() + digits.size(), value).ptr != digits.data() + digits.size())
      return false;
    const std::string_view name = item.substr(0, eq);
    int64_t* field = name == "identifiers"     ? &out.identifiers
                     : name == "links"         ? &out.links
                     : name == "customers"     ? &out.customers
                     : name == "shared"        ? &out.shared
                     : name == "blocked"       ? &out.blocked
                     : name == "refused_links" ? &out.refused_links
                                               : nullptr;
    if (!field) return false;
    *field = value;
    ++fields;
  }
  if (fields != 6) return false;
  s = out;
  return true;
}

Resolution::Resolution(store::Store& store, store::Sql& sql, const IdentityConfig& config)
    : store_(store), sql_(sql), config_(config) {
  for (int t = 0; t < kIdentityTypeCount; ++t) rank_[Idx(t)] = config_.Rank(static_cast<IdentityType>(t));
  start_ = NowSeconds();
}

Status Resolution::Load() {
  OMNI_RETURN_IF_ERROR(MigrateIdentityTables(sql_));
  OMNI_ASSIGN_OR_RETURN(state_, ReadIdentityState(sql_));
  node_of_id_.assign(static_cast<size_t>(state_.next_id), -1);

  Status row_error;
  OMNI_RETURN_IF_ERROR(sql_.Query(
      "SELECT id, type, value, shared, blocked, customer_key, shared_reason, first_seq, pinned_shared "
      "FROM identifiers ORDER BY id",
      {}, [&](const store::SqlRow& row) {
        const int64_t id = row.Int(0);
        auto type = ingest::ParseIdentityType(row.Text(1));
        if (!type || id <= 0 || id >= state_.next_id) {
          row_error = Internal("identity: identifiers row " + std::to_string(id) + " is malformed");
          return false;
        }
        const int32_t node = graph_.size();
        graph_.type.push_back(*type);
        graph_.blocked.push_back(row.Int(4) != 0 ? 1 : 0);
        graph_.pinned.push_back(row.Int(8) != 0 ? 1 : 0);
        id_.push_back(id);
        first_seq_.push_back(row.Int(7));
        stored_shared_.push_back(row.Int(3) != 0 ? 1 : 0);
        stored_blocked_.push_back(graph_.blocked.back());
        stored_customer_.push_back(row.IsNull(5) ? 0 : ParseCustomerKey(row.Text(5)).value_or(0));
        if (stored_shared_.back()) stored_reason_[node] = std::string(row.Text(6));
        values_.emplace_back(row.Text(2));
        index_[static_cast<size_t>(*type)].emplace(values_.back(), node);
        node_of_id_[static_cast<size_t>(id)] = node;
        return true;
      }));
  OMNI_RETURN_IF_ERROR(row_error);
  stored_nodes_ = graph_.size();

  OMNI_RETURN_IF_ERROR(
      sql_.Query("SELECT a, b, events FROM identity_links", {}, [&](const store::SqlRow& row) {
        const int64_t a = row.Int(0);
        const int64_t b = row.Int(1);
        if (a <= 0 || b <= 0 || a >= state_.next_id || b >= state_.next_id ||
            node_of_id_[static_cast<size_t>(a)] < 0 || node_of_id_[static_cast<size_t>(b)] < 0) {
          row_error = Internal("identity: link " + std::to_string(a) + "-" + std::to_string(b) +
                               " names an identifier that does not exist");
          return false;
        }
        const int32_t na = node_of_id_[static_cast<size_t>(a)];
        const int32_t nb = node_of_id_[static_cast<size_t>(b)];
        link_index_.emplace(LinkKey(na, nb), static_cast<int32_t>(graph_.links.size()));
        graph_.links.push_back({na, nb, row.Int(2)});
        stored_events_.push_back(row.Int(2));
        return true;
      }));
  OMNI_RETURN_IF_ERROR(row_error);
  stored_links_ = graph_.links.size();
  spdlog::debug("identity: loaded {} identifiers, {} links in {:.2f} s (cpu {:.2f} s)", stored_nodes_,
                stored_links_, NowSeconds() - start_, CpuSeconds());

  OMNI_RETURN_IF_ERROR(
      sql_.Query("SELECT a, b, holder_a, holder_b FROM identity_refusals ORDER BY a, b", {},
                 [&](const store::SqlRow& row) {
                   stored_refusals_.push_back({row.Int(0), row.Int(1), row.Int(2), row.Int(3)});
                   return true;
                 }));
  OMNI_RETURN_IF_ERROR(
      sql_.Query("SELECT old_key, new_key FROM customer_key_aliases", {}, [&](const store::SqlRow& row) {
        stored_aliases_.emplace(std::string(row.Text(0)), std::string(row.Text(1)));
        return true;
      }));
  return Status::Ok();
}

int32_t Resolution::Intern(IdentityType type, std::string_view value, int64_t seq) {
  auto& index = index_[static_cast<size_t>(type)];
  if (auto it = index.find(value); it != index.end()) return it->second;
  const int32_t node = graph_.size();
  const int64_t id = state_.next_id++;
  graph_.type.push_back(type);
  graph_.blocked.push_back(0);
  graph_.pinned.push_back(0);
  id_.push_back(id);
  first_seq_.push_back(seq);
  stored_shared_.push_back(0);
  stored_blocked_.push_back(0);
  stored_customer_.push_back(0);
  values_.emplace_back(value);
  index.emplace(values_.back(), node);
  node_of_id_.push_back(node);  // ids are handed out densely from next_id
  return node;
}

void Resolution::AddLink(int32_t a, int32_t b, int64_t seq, const std::string& event_id) {
  auto [it, inserted] = link_index_.try_emplace(LinkKey(a, b), static_cast<int32_t>(graph_.links.size()));
  if (!inserted) {
    ++graph_.links[Idx(it->second)].events;
    return;
  }
  graph_.links.push_back({a, b, 1});
  stored_events_.push_back(-1);
  first_event_.push_back({seq, event_id});
}

Status Resolution::ScanNewEvents() {
  ProgressReporter progress("resolve identities", "events", 0);
  std::vector<const ingest::Identity*> ordered;
  std::vector<int32_t> nodes;
  int64_t last_seq = state_.watermark;
  OMNI_RETURN_IF_ERROR(store_.ScanEvents(state_.watermark, [&](int64_t seq, const ingest::Event& event) {
    if ((++events_read_ & 0xFFFF) == 0) progress.Update(events_read_, events_read_);
    last_seq = seq;
    // Strongest first, so identifiers new in one event are numbered the same
    // whatever order the source wrote them in.
    ordered.clear();
    for (const ingest::Identity& identity : event.identities) ordered.push_back(&identity);
    std::sort(ordered.begin(), ordered.end(), [&](const ingest::Identity* x, const ingest::Identity* y) {
      return rank_[Idx(static_cast<int>(x->type))] < rank_[Idx(static_cast<int>(y->type))];
    });
    nodes.clear();
    for (const ingest::Identity* identity : ordered)
      nodes.push_back(Intern(identity->type, identity->value, seq));
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (size_t j = i + 1; j < nodes.size(); ++j) {
        if (nodes[i] == nodes[j]) continue;
        AddLink(std::min(nodes[i], nodes[j]), std::max(nodes[i], nodes[j]), seq, event.event_id);
      }
    }
    return true;
  }));
  progress.Finish();
  state_.watermark = last_seq;
  spdlog::debug("identity: read {} events, at {:.2f} s (cpu {:.2f} s)", events_read_, NowSeconds() - start_,
                CpuSeconds());
  return Status::Ok();
}

int32_t Resolution::Find(const ingest::Identity& identity) const {
  const auto& index = index_[static_cast<size_t>(identity.type)];
  auto it = index.find(std::string_view(identity.value));
  return it == index.end() ? -1 : it->second;
}

bool Resolution::IsLiveKey(int64_t number) const {
  if (number <= 0 || number >= static_cast<int64_t>(node_of_id_.size())) return false;
  const int32_t node = node_of_id_[static_cast<size_t>(number)];
  return node >= 0 && partition_.customer[Idx(node)] == node;
}

std::string Resolution::KeyOf(int32_t node) const {
  const int32_t c = partition_.customer[Idx(node)];
  return c < 0 ? std::string() : FormatCustomerKey(id_[Idx(c)]);
}

int64_t Resolution::CustomerNumber(int32_t node) const {
  const int32_t c = partition_.customer[Idx(node)];
  return c < 0 ? 0 : id_[Idx(c)];
}

std::string Resolution::StoredKeyOf(int32_t node) const {
  const int64_t k = stored_customer_[Idx(node)];
  return k == 0 ? std::string() : FormatCustomerKey(k);
}

ingest::Identity Resolution::IdentityOf(int32_t node) const {
  return {graph_.type[Idx(node)], values_[Idx(node)]};
}

StatusOr<ResolveStats> Resolution::Commit() {
  OMNI_CHECK(!committed_);
  committed_ = true;
  const int32_t n = graph_.size();
  graph_.tiebreak.resize(Idx(n));
  for (int32_t i = 0; i < n; ++i) graph_.tiebreak[Idx(i)] = ContentHash(graph_.type[Idx(i)], values_[Idx(i)]);
  const double t_partition = NowSeconds();
  partition_ = ComputePartition(graph_, config_);
  spdlog::debug("identity: partition of {} identifiers, {} links in {:.2f} s", n, graph_.links.size(),
                NowSeconds() - t_partition);

  ResolveStats stats;
  stats.events_read = events_read_;
  stats.watermark = state_.watermark;
  stats.identifiers = n;
  stats.new_identifiers = n - stored_nodes_;
  stats.links = static_cast<int64_t>(graph_.links.size());
  stats.new_links = static_cast<int64_t>(graph_.links.size() - stored_links_);
  stats.customers = partition_.customers;
  stats.refused_links = static_cast<int64_t>(partition_.refusals.size());

  auto customer_number = [&](int32_t i) { return CustomerNumber(i); };
  auto reason_text = [&](int32_t i) { return SharedReasonText(partition_.shared[Idx(i)]); };

  // What changed among stored identifiers, and what became of old keys.
  std::vector<int32_t> changed;
  absl::flat_hash_set<int64_t> old_keys;
  std::map<int64_t, int64_t> merged_into;  // vanished key -> the key it merged into (ordered for the log)
  absl::flat_hash_set<int64_t> vanished;
  std::map<int64_t, std::vector<int64_t>> split_into;  // live old key -> other keys its members went to
  std::vector<std::string> log_shared, log_unshared, log_blocked, log_unblocked;
  for (int32_t i = 0; i < stored_nodes_; ++i) {
    const int64_t now = customer_number(i);
    const bool shared = partition_.shared[Idx(i)].shared();
    const bool blocked = graph_.blocked[Idx(i)] != 0;
    bool differs = now != stored_customer_[Idx(i)] || shared != (stored_shared_[Idx(i)] != 0) ||
                   blocked != (stored_blocked_[Idx(i)] != 0);
    if (!differs && shared) {
      auto it = stored_reason_.find(i);
      differs = it == stored_reason_.end() || it->second != reason_text(i);
    }
    if (differs) changed.push_back(i);
    if (shared && !stored_shared_[Idx(i)]) {
      log_shared.push_back(NodeName(id_[Idx(i)], graph_.type[Idx(i)]) + " flagged shared: " + reason_text(i));
    }
    if (!shared && stored_shared_[Idx(i)]) log_unshared.push_back(NodeName(id_[Idx(i)], graph_.type[Idx(i)]));
    if (blocked && !stored_blocked_[Idx(i)])
      log_blocked.push_back(NodeName(id_[Idx(i)], graph_.type[Idx(i)]));
    if (!blocked && stored_blocked_[Idx(i)])
      log_unblocked.push_back(NodeName(id_[Idx(i)], graph_.type[Idx(i)]));

    const int64_t old = stored_customer_[Idx(i)];
    if (old == 0) continue;
    old_keys.insert(old);
    if (!IsLiveKey(old)) {
      vanished.insert(old);
      // Iterating in id order: the alias follows the oldest member that
      // still has a customer.
      if (now != 0) merged_into.try_emplace(old, now);
    } else if (now != 0 && now != old) {
      auto& parts = split_into[old];
      if (std::find(parts.begin(), parts.end(), now) == parts.end()) parts.push_back(now);
    }
  }
  stats.changed_identifiers = static_cast<int64_t>(changed.size());
  // A vanished key whose oldest identifier still has a customer merged into
  // an older one; otherwise that identifier left (split off, shared) and the
  // rest of the customer continues under a new key.
  auto origin_has_customer = [&](int64_t key) {
    const int32_t origin =
        key < static_cast<int64_t>(node_of_id_.size()) ? node_of_id_[static_cast<size_t>(key)] : -1;
    return origin >= 0 && partition_.customer[Idx(origin)] >= 0;
  };
  for (const auto& [old, into] : merged_into) {
    if (origin_has_customer(old)) ++stats.merges;
  }
  stats.splits = static_cast<int64_t>(split_into.size());
  for (int32_t i = 0; i < n; ++i) {
    if (partition_.shared[Idx(i)].shared()) {
      ++stats.shared;
      if (i >= stored_nodes_ || !stored_shared_[Idx(i)]) ++stats.newly_shared;
    }
    if (graph_.blocked[Idx(i)]) ++stats.blocked;
    if (partition_.customer[Idx(i)] == i && !old_keys.contains(id_[Idx(i)])) ++stats.new_customers;
  }

  // Aliases: vanished keys point at the key they merged into; a key that is
  // live again (a split brought it back) stops being an alias; chains are
  // flattened so every alias names a live key.
  absl::flat_hash_map<std::string, std::string> aliases = stored_aliases_;
  for (const auto& [old, into] : merged_into) aliases[FormatCustomerKey(old)] = FormatCustomerKey(into);
  std::vector<std::string> drop;
  for (auto& [old, target] : aliases) {
    if (auto number = ParseCustomerKey(old); number && IsLiveKey(*number)) {
      drop.push_back(old);
      continue;
    }
    std::string t = target;
    for (int hops = 0; hops < 64; ++hops) {
      auto number = ParseCustomerKey(t);
      if (number && IsLiveKey(*number)) break;
      auto next = aliases.find(t);
      if (next == aliases.end() || next->second == t) {
        t.clear();
        break;
      }
      t = next->second;
    }
    if (auto number = ParseCustomerKey(t); !number || !IsLiveKey(*number)) t.clear();
    if (t.empty()) {
      drop.push_back(old);
    } else {
      target = t;
    }
  }
  for (const std::string& k : drop) aliases.erase(k);

  // Refusals as stored rows (ids), in link order.
  std::vector<StoredRefusal> refusals;
  refusals.reserve(partition_.refusals.size());
  for (const Refusal& r : partition_.refusals) {
    const GraphLink& l = graph_.links[Idx(r.link)];
    refusals.push_back({id_[Idx(l.a)], id_[Idx(l.b)], id_[Idx(r.holder_a)], id_[Idx(r.holder_b)]});
  }
  std::sort(refusals.begin(), refusals.end(), [](const StoredRefusal& x, const StoredRefusal& y) {
    return std::tie(x.a, x.b) < std::tie(y.a, y.b);
  });

  const int64_t loaded_generation = state_.generation;
  IdentityState written_state;
  Status written = sql_.InTransaction([&]() -> Status {
    OMNI_ASSIGN_OR_RETURN(IdentityState current, ReadIdentityState(sql_));
    if (current.generation != loaded_generation) return Unavailable(std::string(kConcurrentMessage));

    auto customer_value = [&](int32_t i) -> store::SqlValue {
      const int64_t c = customer_number(i);
      if (c == 0) return store::SqlValue();
      return FormatCustomerKey(c);
    };
    auto reason_value = [&](int32_t i) -> store::SqlValue {
      if (!partition_.shared[Idx(i)].shared()) return store::SqlValue();
      return reason_text(i);
    };
    // A bulk load (the first run over a large history) rebuilds the
    // secondary indexes once instead of maintaining them row by row.
    const int64_t new_nodes = n - stored_nodes_;
    const int64_t new_links = static_cast<int64_t>(graph_.links.size() - stored_links_);
    const bool bulk_identifiers = new_nodes > kBulkRows && new_nodes > stored_nodes_;
    const bool bulk_links = new_links > kBulkRows && new_links > static_cast<int64_t>(stored_links_);
    OMNI_RETURN_IF_ERROR(DropSecondaryIndexes(sql_, bulk_identifiers, bulk_links));

    BulkInsert identifiers(
        sql_,
        "INSERT INTO identifiers(id, type, value, first_seq, shared, shared_reason, blocked, "
        "customer_key)",
        8);
    for (int32_t i = stored_nodes_; i < n; ++i) {
      OMNI_RETURN_IF_ERROR(identifiers.Add(
          {id_[Idx(i)], std::string(ingest::IdentityTypeName(graph_.type[Idx(i)])), values_[Idx(i)],
           first_seq_[Idx(i)], int64_t{partition_.shared[Idx(i)].shared() ? 1 : 0}, reason_value(i),
           int64_t{graph_.blocked[Idx(i)]}, customer_value(i)}));
    }
    OMNI_RETURN_IF_ERROR(identifiers.Flush());
    for (int32_t i : changed) {
      OMNI_RETURN_IF_ERROR(
          sql_.Execute("UPDATE identifiers SET customer_key = ?, shared = ?, shared_reason = ?, blocked = ? "
                       "WHERE id = ?",
                       {customer_value(i), int64_t{partition_.shared[Idx(i)].shared() ? 1 : 0},
                        reason_value(i), int64_t{graph_.blocked[Idx(i)]}, id_[Idx(i)]})
              .status());
    }
    // New links in key order: appends to the table's B-tree.
    std::vector<size_t> fresh;
    fresh.reserve(graph_.links.size() - stored_links_);
    for (size_t li = stored_links_; li < graph_.links.size(); ++li) fresh.push_back(li);
    auto ids_of = [&](size_t li) {
      return std::make_pair(id_[Idx(graph_.links[li].a)], id_[Idx(graph_.links[li].b)]);
    };
    std::sort(fresh.begin(), fresh.end(), [&](size_t x, size_t y) { return ids_of(x) < ids_of(y); });
    BulkInsert links(sql_, "INSERT INTO identity_links(a, b, first_seq, first_event_id, events)", 5);
    for (size_t li : fresh) {
      const GraphLink& l = graph_.links[li];
      const FirstEvent& first = first_event_[li - stored_links_];
      OMNI_RETURN_IF_ERROR(links.Add({id_[Idx(l.a)], id_[Idx(l.b)], first.seq, first.event_id, l.events}));
    }
    OMNI_RETURN_IF_ERROR(links.Flush());
    for (size_t li = 0; li < stored_links_; ++li) {
      const GraphLink& l = graph_.links[li];
      if (stored_events_[li] != l.events) {
        OMNI_RETURN_IF_ERROR(sql_.Execute("UPDATE identity_links SET events = ? WHERE a = ? AND b = ?",
                                          {l.events, id_[Idx(l.a)], id_[Idx(l.b)]})
                                 .status());
      }
    }
    OMNI_RETURN_IF_ERROR(CreateSecondaryIndexes(sql_, bulk_identifiers, bulk_links));
    if (refusals != stored_refusals_) {
      OMNI_RETURN_IF_ERROR(sql_.Execute("DELETE FROM identity_refusals").status());
      for (const StoredRefusal& r : refusals) {
        OMNI_RETURN_IF_ERROR(
            sql_.Execute("INSERT INTO identity_refusals(a, b, holder_a, holder_b) VALUES (?, ?, ?, ?)",
                         {r.a, r.b, r.holder_a, r.holder_b})
                .status());
        if (!std::binary_search(stored_refusals_.begin(), stored_refusals_.end(), r,
                                [](const StoredRefusal& x, const StoredRefusal& y) {
                                  return std::tie(x.a, x.b) < std::tie(y.a, y.b);
                                })) {
          OMNI_RETURN_IF_ERROR(AppendLog(sql_, "refuse", "",
                                         "link #" + std::to_string(r.a) + "-#" + std::to_string(r.b) +
                                             " refused: it would join customer_id identifiers #" +
                                             std::to_string(r.holder_a) + " and #" +
                                             std::to_string(r.holder_b)));
        }
      }
    }
    const int64_t now_ms = NowMs();
    for (const auto& [old, target] : aliases) {
      auto it = stored_aliases_.find(old);
      if (it != stored_aliases_.end() && it->second == target) continue;
      OMNI_RETURN_IF_ERROR(sql_.Execute("INSERT INTO customer_key_aliases(old_key, new_key, merged_at_ms) "
                                        "VALUES (?, ?, ?) ON CONFLICT(old_key) DO UPDATE SET new_key = "
                                        "excluded.new_key",
                                        {old, target, now_ms})
                               .status());
    }
    for (const auto& [old, target] : stored_aliases_) {
      if (!aliases.contains(old)) {
        OMNI_RETURN_IF_ERROR(
            sql_.Execute("DELETE FROM customer_key_aliases WHERE old_key = ?", {old}).status());
      }
    }
    for (const auto& [old, into] : merged_into) {
      if (origin_has_customer(old)) {
        OMNI_RETURN_IF_ERROR(AppendLog(sql_, "merge", FormatCustomerKey(into),
                                       FormatCustomerKey(old) + " merged into " + FormatCustomerKey(into)));
      } else {
        OMNI_RETURN_IF_ERROR(AppendLog(sql_, "rekey", FormatCustomerKey(into),
                                       FormatCustomerKey(old) + " continues as " + FormatCustomerKey(into) +
                                           ": its oldest identifier no longer links"));
      }
    }
    for (int64_t old : vanished) {
      if (!merged_into.contains(old)) {
        OMNI_RETURN_IF_ERROR(AppendLog(sql_, "dissolve", FormatCustomerKey(old),
                                       FormatCustomerKey(old) + " has no usable identifier left"));
      }
    }
    for (const auto& [old, parts] : split_into) {
      std::string detail = FormatCustomerKey(old) + " split: identifiers moved to";
      for (int64_t p : parts) detail += " " + FormatCustomerKey(p);
      OMNI_RETURN_IF_ERROR(AppendLog(sql_, "split", FormatCustomerKey(old), detail));
    }
    for (const std::string& s : log_shared) OMNI_RETURN_IF_ERROR(AppendLog(sql_, "shared", "", s));
    for (const std::string& s : log_unshared) {
      OMNI_RETURN_IF_ERROR(AppendLog(sql_, "unshared", "", s + " no longer shared"));
    }
    for (const std::string& s : log_blocked)
      OMNI_RETURN_IF_ERROR(AppendLog(sql_, "block", "", s + " blocked"));
    for (const std::string& s : log_unblocked) {
      OMNI_RETURN_IF_ERROR(AppendLog(sql_, "unblock", "", s + " unblocked"));
    }
    state_.settled_config = config_.Fingerprint();
    state_.totals = EncodeTotals(stats);
    return WriteIdentityState(sql_, state_, &written_state);
  });
  OMNI_RETURN_IF_ERROR(written);
  PublishDirectory(written_state, aliases);
  stats.seconds = NowSeconds() - start_;
  spdlog::debug("identity: written, at {:.2f} s (cpu {:.2f} s)", stats.seconds, CpuSeconds());
  return stats;
}

void Resolution::PublishDirectory(const IdentityState& written,
                                  const absl::flat_hash_map<std::string, std::string>& aliases) const {
  const std::optional<std::string> data_dir = DataDirOf(sql_);
  if (!data_dir) return;
  const double start = NowSeconds();
  // What LoadDirectory would read from the tables just written: the
  // identifiers with a customer in id order (node order), the aliases.
  DirectoryBuffers b;
  std::vector<int64_t> number_of;
  const int32_t n = graph_.size();
  number_of.reserve(Idx(n));
  b.type.reserve(Idx(n));
  b.first_seq.reserve(Idx(n));
  b.value_begin.reserve(Idx(n) + 1);
  for (int32_t i = 0; i < n; ++i) {
    const int64_t number = CustomerNumber(i);
    if (number == 0) continue;
    number_of.push_back(number);
    b.type.push_back(static_cast<uint8_t>(graph_.type[Idx(i)]));
    b.first_seq.push_back(first_seq_[Idx(i)]);
    b.text.append(values_[Idx(i)]);
    b.value_begin.push_back(b.text.size());
  }
  b.AssignCustomers(number_of);
  std::vector<std::pair<std::string_view, int64_t>> sorted;  // same bytes for the same state
  for (const auto& [old, target] : aliases) {
    if (auto number = ParseCustomerKey(target)) sorted.emplace_back(old, *number);
  }
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [old, number] : sorted) b.AddAlias(old, number);
  if (Status st = WriteDirectoryFile(sql_, *data_dir, DirectoryStamp::Of(written), b.View()); !st.ok()) {
    spdlog::warn("{}; the next directory load reads the identity tables", st.message());
    return;
  }
  spdlog::debug("identity: directory file written in {:.2f} s", NowSeconds() - start);
}

}  // namespace internal

namespace {

bool IsConcurrent(const Status& status) {
  return status.code() == StatusCode::kUnavailable &&
         status.message() == internal::Resolution::kConcurrentMessage;
}

}  // namespace

// The stored partition is current when no event came after the watermark
// and it was computed with this configuration: a run would read nothing,
// recompute the same partition from the same links and write nothing, yet
// loading millions of identifiers and links costs seconds (every profile,
// feature and training command resolves first). The totals recorded with
// the partition answer the "now" counts.
namespace {

StatusOr<std::optional<ResolveStats>> AlreadySettled(store::Store& store, store::Sql& sql,
                                                      const IdentityConfig& config) {
  const auto start = std::chrono::steady_clock::now();
  OMNI_RETURN_IF_ERROR(internal::MigrateIdentityTables(sql));
  OMNI_ASSIGN_OR_RETURN(internal::IdentityState state, internal::ReadIdentityState(sql));
  if (state.settled_config.empty() || state.settled_config != config.Fingerprint()) return std::optional<ResolveStats>();
  ResolveStats stats;
  if (!internal::DecodeTotals(state.totals, stats)) return std::optional<ResolveStats>();
  bool newer = false;
  OMNI_RETURN_IF_ERROR(store.ScanEvents(state.watermark, [&](int64_t, const ingest::Event&) {
    newer = true;
    return false;
  }));
  if (newer) return std::optional<ResolveStats>();
  stats.watermark = state.watermark;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::optional<ResolveStats>(stats);
}

}  // namespace

StatusOr<ResolveStats> Resolve(store::Store& store, store::Sql& sql, const IdentityConfig& config) {
  OMNI_RETURN_IF_ERROR(config.Validate());
  OMNI_ASSIGN_OR_RETURN(std::optional<ResolveStats> settled, AlreadySettled(store, sql, config));
  if (settled) {
    spdlog::debug("identity: up to date (watermark {}, same configuration); nothing to resolve",
                  settled->watermark);
    return *settled;
  }
  for (int attempt = 0;; ++attempt) {
    internal::Resolution run(store, sql, config);
    OMNI_RETURN_IF_ERROR(run.Load());
    OMNI_RETURN_IF_ERROR(run.ScanNewEvents());
    StatusOr<ResolveStats> stats = run.Commit();
    if (stats.ok() || !IsConcurrent(stats.status()) || attempt == 3) return stats;
    spdlog::info("identity: another resolution ran at the same time; recomputing");
  }
}

StatusOr<SplitResult> Split(store::Store& store, store::Sql& sql, const IdentityConfig& config,
                            const ingest::Identity& identity, bool undo) {
  OMNI_RETURN_IF_ERROR(config.Validate());
  const std::string type(ingest::IdentityTypeName(identity.type));
  for (int attempt = 0;; ++attempt) {
    internal::Resolution run(store, sql, config);
    OMNI_RETURN_IF_ERROR(run.Load());
    OMNI_RETURN_IF_ERROR(run.ScanNewEvents());
    const int32_t node = run.Find(identity);
    if (node < 0) return NotFound("no identifier of type " + type + " with this value has been seen");
    run.SetBlocked(node, !undo);
    StatusOr<ResolveStats> stats = run.Commit();
    if (!stats.ok()) {
      if (IsConcurrent(stats.status()) && attempt < 3) continue;
      return stats.status();
    }
    SplitResult result;
    result.stats = *stats;
    result.old_key = run.StoredKeyOf(node);
    // The customers the identifier's former customer is made of now (or,
    // when unblocking, the customer it joined).
    const int64_t old_number = run.StoredCustomerNumber(node);
    const int64_t joined = undo ? run.CustomerNumber(node) : 0;
    std::map<int64_t, std::vector<int32_t>> members;
    for (int32_t i = 0; i < run.size(); ++i) {
      const int64_t now = run.CustomerNumber(i);
      if (now == 0) continue;
      if ((old_number != 0 && run.StoredCustomerNumber(i) == old_number) || (joined != 0 && now == joined)) {
        members[now].push_back(i);
      }
    }
    for (auto& [number, nodes] : members) {
      CustomerSummary summary;
      summary.key = FormatCustomerKey(number);
      for (int32_t i : nodes) summary.identifiers.push_back(run.IdentityOf(i));
      std::stable_sort(summary.identifiers.begin(), summary.identifiers.end(),
                       [&](const ingest::Identity& x, const ingest::Identity& y) {
                         return config.Rank(x.type) < config.Rank(y.type);
                       });
      result.customers.push_back(std::move(summary));
    }
    return result;
  }
}

Status MigrateIdentityTables(store::Sql& sql) { return internal::MigrateIdentityTables(sql); }

}  // namespace omni::identity
