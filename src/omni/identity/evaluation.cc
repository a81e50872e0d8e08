#include "omni/identity/evaluation.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <array>
#include <fstream>

#include "omni/identity/identifier.h"
#include "omni/identity/identity.h"
#include "omni/identity/tables.h"
#include "omni/ingest/csv.h"

namespace omni::identity {
namespace {

int64_t Pairs(int64_t n) { return n * (n - 1) / 2; }

// Sorted (a, b) runs: sum of Pairs over each run of equal keys.
template <typename Key>
int64_t PairsOfRuns(const std::vector<Key>& sorted) {
  int64_t total = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    total += Pairs(static_cast<int64_t>(j - i));
    i = j;
  }
  return total;
}

struct Resolved {
  int64_t customer = 0;  // key number; 0 = none
  bool shared = false;
  bool blocked = false;
};

}  // namespace

PairScores ScorePairs(std::vector<std::pair<int64_t, int64_t>> items) {
  PairScores s;
  s.items = static_cast<int64_t>(items.size());
  std::sort(items.begin(), items.end());
  s.together_both = PairsOfRuns(items);  // contingency cells (predicted, true)
  std::vector<int64_t> predicted(items.size()), truth(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    predicted[i] = items[i].first;
    truth[i] = items[i].second;
  }
  s.predicted_together = PairsOfRuns(predicted);  // already sorted by the pair sort
  std::sort(truth.begin(), truth.end());
  s.truly_together = PairsOfRuns(truth);
  if (s.predicted_together > 0) s.precision = static_cast<double>(s.together_both) / s.predicted_together;
  if (s.truly_together > 0) s.recall = static_cast<double>(s.together_both) / s.truly_together;
  return s;
}

StatusOr<Evaluation> EvaluateResolution(store::Sql& sql, const std::string& truth_path,
                                        ingest::Pseudonymiser& pseudonymiser) {
  OMNI_RETURN_IF_ERROR(MigrateIdentityTables(sql));
  OMNI_ASSIGN_OR_RETURN(internal::IdentityState state, internal::ReadIdentityState(sql));
  if (state.generation == 0)
    return FailedPrecondition("identity resolution has not run yet: run omni customers resolve");
  std::ifstream in(truth_path, std::ios::binary);
  if (!in) return NotFound("cannot open truth file " + truth_path);

  Evaluation ev;
  // The resolution, by stored value.
  std::array<absl::flat_hash_map<std::string, Resolved>, kIdentityTypeCount> resolved;
  absl::flat_hash_map<int64_t, bool> customers_seen;
  OMNI_RETURN_IF_ERROR(sql.Query("SELECT type, value, customer_key, shared, blocked FROM identifiers", {},
                                 [&](const store::SqlRow& row) {
                                   auto type = ingest::ParseIdentityType(row.Text(0));
                                   if (!type) return true;
                                   Resolved r;
                                   r.customer = row.IsNull(2) ? 0 : ParseCustomerKey(row.Text(2)).value_or(0);
                                   r.shared = row.Int(3) != 0;
                                   r.blocked = row.Int(4) != 0;
                                   if (r.customer != 0) customers_seen.emplace(r.customer, true);
                                   resolved[static_cast<size_t>(*type)].emplace(std::string(row.Text(1)), r);
                                   return true;
                                 }));
  ev.resolved_customers = static_cast<int64_t>(customers_seen.size());

  std::string line;
  if (!std::getline(in, line))
    return InvalidArgument(truth_path + ": empty file, expected a truth CSV header");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("person_id,identity_type,identity_value,shared", 0) != 0) {
    return InvalidArgument(truth_path +
                           ": not a truth file (expected the header "
                           "person_id,identity_type,identity_value,shared)");
  }

  absl::flat_hash_map<std::string, int64_t> person_ids;
  struct SharedId {
    std::vector<int64_t> persons;
    bool kiosk = false;
    bool flagged = false;
  };
  absl::flat_hash_map<std::string, SharedId> shared_ids;  // "type\tvalue"
  std::vector<std::pair<int64_t, int64_t>> precision_items, recall_items;
  int64_t next_singleton = -1;  // clusters of identifiers without a customer
  std::vector<std::string_view> fields;
  std::string scratch, value;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ++ev.truth_rows;
    if (!ingest::SplitCsvRecord(line, ',', fields, scratch).ok() || fields.size() < 4) {
      ++ev.invalid_rows;
      continue;
    }
    auto type = ingest::ParseIdentityType(fields[1]);
    if (!type || !pseudonymiser.NormaliseTo(*type, fields[2], value).ok()) {
      ++ev.invalid_rows;
      continue;
    }
    auto [pit, inserted] =
        person_ids.try_emplace(std::string(fields[0]), static_cast<int64_t>(person_ids.size()));
    const int64_t person = pit->second;
    const std::string_view kind = fields[3];
    const auto& by_value = resolved[static_cast<size_t>(*type)];
    auto rit = by_value.find(value);
    if (kind == "household" || kind == "kiosk") {
      SharedId& s = shared_ids[std::string(fields[1]) + "\t" + value];
      s.persons.push_back(person);
      s.kiosk = kind == "kiosk";
      s.flagged = rit != by_value.end() && rit->second.shared;
      continue;
    }
    int64_t cluster;
    if (rit == by_value.end()) {
      ++ev.unseen_identifiers;
      cluster = next_singleton--;
    } else if (rit->second.customer == 0) {
      if (rit->second.shared && kind.empty()) ++ev.own_flagged_shared;
      if (rit->second.blocked && kind.empty()) ++ev.own_blocked;
      cluster = next_singleton--;
    } else {
      cluster = rit->second.customer;
    }
    precision_items.emplace_back(cluster, person);
    if (kind == "guest") {
      ++ev.guest_identifiers;
    } else {
      recall_items.emplace_back(cluster, person);
    }
  }
  if (in.bad()) return Internal("error reading " + truth_path);

  for (auto& [key, s] : shared_ids) {
    std::sort(s.persons.begin(), s.persons.end());
    const bool multi = std::unique(s.persons.begin(), s.persons.end()) - s.persons.begin() > 1;
    int64_t& total = s.kiosk ? ev.kiosk_identifiers : ev.household_identifiers;
    int64_t& several = s.kiosk ? ev.kiosk_multi_person : ev.household_multi_person;
    int64_t& flagged = s.kiosk ? ev.kiosk_flagged : ev.household_flagged;
    ++total;
    if (multi) ++several;
    if (s.flagged) ++flagged;
  }

  ev.identifiers = static_cast<int64_t>(precision_items.size());
  {
    std::vector<int64_t> persons, clusters;
    for (const auto& [cluster, person] : precision_items) {
      clusters.push_back(cluster);
      persons.push_back(person);
    }
    std::sort(persons.begin(), persons.end());
    std::sort(clusters.begin(), clusters.end());
    ev.persons = std::unique(persons.begin(), persons.end()) - persons.begin();
    ev.customers = std::unique(clusters.begin(), clusters.end()) - clusters.begin();
  }
  ev.precision_pairs = ScorePairs(std::move(precision_items));
  ev.recall_pairs = ScorePairs(std::move(recall_items));
  ev.precision = ev.precision_pairs.precision;
  ev.recall = ev.recall_pairs.recall;
  ev.f1 = ev.precision + ev.recall > 0 ? 2 * ev.precision * ev.recall / (ev.precision + ev.recall) : 0;
  return ev;
}

}  // namespace omni::identity
