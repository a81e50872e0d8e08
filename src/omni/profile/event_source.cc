#include "omni/profile/event_source.h"

#include <algorithm>
#include <limits>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <absl/container/flat_hash_map.h>

namespace omni::profile {

// The snapshot numbers its identifiers in order of first appearance, and
// the identity tables hold each identifier's first_seq: walking both in that
// order pairs them up, a few string compares per identifier, where hashing
// every value of the snapshot into the directory's maps cost a second on ten
// million events (and the maps a second more to build). The pairing is never
// trusted: a pair is taken only when type and value are equal, and whatever
// is left (an identifier whose first event was erased, a shared one, a
// directory that does not know first appearances) is matched by value.
// Ids are handed out in order of appearance, so a row's ids at or past the
// next unseen one are new: one pass, no look-ups (were that ever not so, the
// first_seq would not pair below, and the value fallback would find the
// identifier). Non-decreasing in the id.
std::vector<int64_t> IdentityFirstSeqs(const store::EventColumns& columns) {
  const auto n = static_cast<size_t>(columns.identity_count());
  std::vector<int64_t> first(n, std::numeric_limits<int64_t>::max());
  size_t next_new = 0;
  for (const store::EventColumnBlock& b : columns.blocks()) {
    for (int64_t row = 0; row < b.rows && next_new < n; ++row) {
      for (const int32_t id : b.IdentitiesOf(row)) {
        const auto d = static_cast<size_t>(id);
        if (d < next_new) continue;
        for (size_t k = next_new; k <= d; ++k) first[k] = b.seq[row];
        next_new = d + 1;
      }
    }
    if (next_new >= n) break;
  }
  return first;
}

ColumnAttribution::ColumnAttribution(const store::EventColumns& columns,
                                     const identity::CustomerDirectory& directory,
                                     const std::vector<ingest::IdentityType>& strong_types,
                                     const std::vector<int64_t>* first_seqs) {
  identity::IdentityConfig config;
  config.strong = strong_types;
  std::array<uint8_t, ingest::kIdentityTypeCount> rank{}, strong{};
  for (int t = 0; t < ingest::kIdentityTypeCount; ++t) {
    const auto type = static_cast<ingest::IdentityType>(t);
    rank[static_cast<size_t>(t)] = static_cast<uint8_t>(config.Rank(type));
    strong[static_cast<size_t>(t)] = config.IsStrong(type) ? 1 : 0;
  }
  const auto n = static_cast<size_t>(columns.identity_count());
  entries_.resize(n);
  for (size_t d = 0; d < n; ++d) {
    const auto t = static_cast<size_t>(columns.identity_type(static_cast<int32_t>(d)));
    entries_[d] = Entry{-1, rank[t], strong[t]};
  }
  if (n == 0) return;

  std::vector<int64_t> computed;
  if (!first_seqs || first_seqs->size() != n) {
    computed = IdentityFirstSeqs(columns);
    first_seqs = &computed;
  }
  const std::vector<int64_t>& first = *first_seqs;

  // The directory's identifiers by first_seq (already so, as the store
  // numbers them, unless a directory says otherwise).
  const int32_t m = directory.identifier_count();
  std::vector<identity::CustomerDirectory::IdentifierEntry> known;
  known.reserve(static_cast<size_t>(m));
  for (int32_t i = 0; i < m; ++i) known.push_back(directory.identifier(i));
  auto by_first = [](const auto& a, const auto& b) { return a.first_seq < b.first_seq; };
  if (!std::is_sorted(known.begin(), known.end(), by_first)) {
    std::stable_sort(known.begin(), known.end(), by_first);
  }
  const int32_t customers = directory.customer_count();
  auto customer_of = [&](int32_t c) { return c >= 0 && c < customers ? c : -1; };

  std::vector<uint8_t> paired(known.size(), 0);
  std::vector<size_t> unpaired;
  size_t j = 0;
  for (size_t d = 0; d < n; ++d) {
    const auto id = static_cast<int32_t>(d);
    while (j < known.size() && known[j].first_seq < first[d]) ++j;
    const ingest::IdentityType type = columns.identity_type(id);
    const std::string_view value = columns.identity_value(id);
    bool found = false;
    for (size_t k = j; k < known.size() && known[k].first_seq == first[d]; ++k) {
      if (!paired[k] && known[k].type == type && known[k].value == value) {
        entries_[d].customer = customer_of(known[k].customer);
        paired[k] = 1;
        found = true;
        break;
      }
    }
    if (!found) unpaired.push_back(d);
  }
  if (unpaired.empty()) return;
  // By value: the directory's identifiers nothing paired with (few, when
  // first appearances line up), later entries winning as in CustomerOf.
  absl::flat_hash_map<std::pair<int, absl::string_view>, int32_t> rest;
  for (size_t k = 0; k < known.size(); ++k) {
    if (paired[k]) continue;
    rest[{static_cast<int>(known[k].type), absl::string_view(known[k].value.data(), known[k].value.size())}] =
        known[k].customer;
  }
  for (const size_t d : unpaired) {
    const auto id = static_cast<int32_t>(d);
    const std::string_view value = columns.identity_value(id);
    auto it = rest.find({static_cast<int>(columns.identity_type(id)), absl::string_view(value.data(), value.size())});
    if (it != rest.end()) entries_[d].customer = customer_of(it->second);
  }
}

constexpr int64_t kPrefetchAhead = 16;  // events

struct AttributedBlocks::State {
  std::vector<std::vector<int32_t>> customer;
  std::vector<std::vector<uint8_t>> identified;
  std::mutex mu;
  std::condition_variable cv;
  size_t ready = 0;  // blocks done
  std::atomic<bool> stop{false};
  std::thread worker;
};

AttributedBlocks::AttributedBlocks(const store::EventColumns& columns, const ColumnAttribution& attribution)
    : s_(std::make_unique<State>()) {
  const auto& blocks = columns.blocks();
  s_->customer.resize(blocks.size());
  s_->identified.resize(blocks.size());
  s_->worker = std::thread([this, &blocks, &attribution] {
    State& s = *s_;
    for (size_t k = 0; k < blocks.size() && !s.stop.load(std::memory_order_relaxed); ++k) {
      const store::EventColumnBlock& b = blocks[k];
      std::vector<int32_t>& customer = s.customer[k];
      std::vector<uint8_t>& identified = s.identified[k];
      customer.resize(static_cast<size_t>(b.rows));
      identified.resize(static_cast<size_t>(b.rows));
      for (int64_t r = 0; r < b.rows; ++r) {
        // The identifier table is megabytes and each event's ids are
        // scattered in it: ask for a later event's entries now.
        if (r + kPrefetchAhead < b.rows) attribution.Prefetch(b, r + kPrefetchAhead);
        bool strong = false;
        customer[static_cast<size_t>(r)] = attribution.CustomerOf(b, r, &strong);
        identified[static_cast<size_t>(r)] = strong ? 1 : 0;
      }
      std::lock_guard lock(s.mu);
      s.ready = k + 1;
      s.cv.notify_all();
    }
  });
}

AttributedBlocks::~AttributedBlocks() {
  s_->stop = true;
  s_->worker.join();
}

AttributedBlocks::Rows AttributedBlocks::Block(size_t k) {
  State& s = *s_;
  {
    std::unique_lock lock(s.mu);
    s.cv.wait(lock, [&] { return s.ready > k; });
  }
  return Rows{s.customer[k].data(), s.identified[k].data()};
}

}  // namespace omni::profile
