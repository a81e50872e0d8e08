#include "omni/profile/event_source.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace omni::profile {

ColumnAttribution::ColumnAttribution(const store::EventColumns& columns,
                                     const identity::CustomerDirectory& directory,
                                     const std::vector<ingest::IdentityType>& strong_types) {
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
  // The directory is immutable once loaded (identity.h), so two threads may
  // look up at once; each hashes its half of the identifiers.
  auto fill = [&](size_t begin, size_t end) {
    ingest::Identity identity;
    for (size_t i = begin; i < end; ++i) {
      const auto id = static_cast<int32_t>(i);
      identity.type = columns.identity_type(id);
      identity.value.assign(columns.identity_value(id));
      const std::optional<int32_t> c = directory.CustomerOf(identity);
      const auto t = static_cast<size_t>(identity.type);
      entries_[i] = Entry{c && *c >= 0 && *c < directory.customer_count() ? *c : -1, rank[t], strong[t]};
    }
  };
  if (n < 100'000) {
    fill(0, n);
    return;
  }
  std::thread other(fill, n / 2, n);
  fill(0, n / 2);
  other.join();
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
