// The two inputs of the profile and feature builds, behind one interface so
// each build has one accumulation (a template over the source): an
// ingest::Event (EventSource), or a row of the columnar snapshot
// (ColumnSource, store/event_columns.h).
//
// Customers of events read from the columnar snapshot (ColumnAttribution):
// the directory is asked once per distinct identifier of the snapshot's
// dictionary (in parallel), then attributing an event is a few integer
// look-ups over its identity ids instead of hashing its identifier strings.
// Same rule as CustomerDirectory::CustomerOfEvent: the customer of the
// event's strongest identifier that belongs to one.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "omni/identity/identity.h"
#include "omni/store/event_columns.h"

namespace omni::profile {

// The seq of the first event that carries each identifier of the snapshot's
// dictionary (by dictionary id). Needs no directory: a build computes it
// while the directory loads and hands it to ColumnAttribution.
std::vector<int64_t> IdentityFirstSeqs(const store::EventColumns& columns);

class ColumnAttribution {
 public:
  // `strong_types` in rank order, as IdentityConfig::strong (the
  // configuration the directory was loaded with). `first_seqs`:
  // IdentityFirstSeqs(columns) when already computed, else computed here.
  ColumnAttribution(const store::EventColumns& columns, const identity::CustomerDirectory& directory,
                    const std::vector<ingest::IdentityType>& strong_types,
                    const std::vector<int64_t>* first_seqs = nullptr);

  // The customer of `row` (-1 = none); `identified`: whether the event carries
  // an identifier of a strong type.
  int32_t CustomerOf(const store::EventColumnBlock& block, int64_t row, bool* identified) const {
    int best_rank = std::numeric_limits<int>::max();
    int32_t best = -1;
    bool strong = false;
    for (const int32_t id : block.IdentitiesOf(row)) {
      const Entry& e = entries_[static_cast<size_t>(id)];
      strong |= e.strong != 0;
      if (e.customer >= 0 && e.rank < best_rank) {
        best = e.customer;
        best_rank = e.rank;
      }
    }
    *identified = strong;
    return best;
  }
  void Prefetch(const store::EventColumnBlock& block, int64_t row) const {
    for (const int32_t id : block.IdentitiesOf(row)) __builtin_prefetch(&entries_[static_cast<size_t>(id)]);
  }

 private:
  struct Entry {
    int32_t customer;  // -1 = unknown, shared or blocked
    uint8_t rank;
    uint8_t strong;
  };
  std::vector<Entry> entries_;
};

// The customers of every row of the snapshot, attributed on a second thread
// block by block while the caller consumes earlier blocks (on two cores the
// attribution walk, a third of the per-event work, then costs no wall time).
class AttributedBlocks {
 public:
  AttributedBlocks(const store::EventColumns& columns, const ColumnAttribution& attribution);
  ~AttributedBlocks();
  AttributedBlocks(const AttributedBlocks&) = delete;
  AttributedBlocks& operator=(const AttributedBlocks&) = delete;

  // Block k's customers (-1 = none) and strong-identifier flags, once ready.
  struct Rows {
    const int32_t* customer;
    const uint8_t* identified;
  };
  Rows Block(size_t k);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// An ingest::Event as a build reads it. KindT is the build's event kind,
// `kind_of` its classification of type names.
template <typename KindT>
class EventSource {
 public:
  EventSource(const ingest::Event& e, const identity::CustomerDirectory& directory,
              const std::array<bool, ingest::kIdentityTypeCount>& strong, KindT (*kind_of)(std::string_view))
      : e_(e), directory_(directory), strong_(strong), kind_of_(kind_of) {}
  int64_t ts_ms() const { return e_.ts_ms; }
  int32_t Customer(bool* identified) const {
    for (const ingest::Identity& id : e_.identities) *identified |= strong_[static_cast<size_t>(id.type)];
    return directory_.CustomerOfEvent(e_).value_or(-1);
  }
  // The builder's channel / item index (State::ChannelIndex / ItemIndex).
  template <typename Builder>
  int Channel(Builder& b) const { return b.ChannelIndex(e_.channel); }
  template <typename Builder>
  int32_t Item(Builder& b) const { return b.ItemIndex(e_.item_id); }
  KindT Kind() const { return kind_of_(e_.type); }
  std::optional<double> Quantity() const { return e_.quantity; }
  std::optional<double> Price() const { return e_.price; }
  std::string_view OrderId() const { return e_.order_id; }
  int32_t TzOffsetMin() const { return e_.tz_offset_min; }
  std::string_view Properties() const { return e_.properties_json; }

 private:
  const ingest::Event& e_;
  const identity::CustomerDirectory& directory_;
  const std::array<bool, ingest::kIdentityTypeCount>& strong_;
  KindT (*kind_of_)(std::string_view);
};

// Snapshot dictionary id -> the builder's index, filled on first use (-2 =
// not yet), i.e. in event order: both sources number channels and items alike,
// so both builds come out identical.
template <typename KindT>
struct ColumnMaps {
  ColumnMaps(const store::EventColumns& columns, KindT (*kind_of)(std::string_view))
      : channel(columns.channels().size(), -2), item(columns.items().size(), -2) {
    for (std::string_view type : columns.types()) kind.push_back(kind_of(type));
  }
  std::vector<int> channel;
  std::vector<int32_t> item;
  std::vector<KindT> kind;
};

// One row of the snapshot as a build reads it.
template <typename KindT>
class ColumnSource {
 public:
  ColumnSource(const store::EventColumns& columns, const store::EventColumnBlock& b, int64_t row,
               AttributedBlocks::Rows attributed, ColumnMaps<KindT>& maps)
      : columns_(columns), b_(b), row_(row), attributed_(attributed), maps_(maps) {}
  int64_t ts_ms() const { return b_.ts_ms[row_]; }
  int32_t Customer(bool* identified) const {
    *identified = attributed_.identified[row_] != 0;
    return attributed_.customer[row_];
  }
  template <typename Builder>
  int Channel(Builder& b) const {
    int& m = maps_.channel[b_.channel[row_]];
    if (m == -2) m = b.ChannelIndex(columns_.channels()[b_.channel[row_]]);
    return m;
  }
  template <typename Builder>
  int32_t Item(Builder& b) const {
    const int32_t id = b_.item[row_];
    if (id < 0) return -1;
    int32_t& m = maps_.item[static_cast<size_t>(id)];
    if (m == -2) m = b.ItemIndex(columns_.items()[static_cast<size_t>(id)]);
    return m;
  }
  KindT Kind() const { return maps_.kind[b_.type[row_]]; }
  std::optional<double> Quantity() const { return Optional(b_.quantity[row_]); }
  std::optional<double> Price() const { return Optional(b_.price[row_]); }
  std::string_view OrderId() const { return b_.OrderId(row_); }
  int32_t TzOffsetMin() const { return b_.tz_offset_min[row_]; }
  std::string_view Properties() const { return b_.Properties(row_); }

 private:
  static std::optional<double> Optional(double v) { return std::isnan(v) ? std::nullopt : std::optional<double>(v); }
  const store::EventColumns& columns_;
  const store::EventColumnBlock& b_;
  int64_t row_;
  AttributedBlocks::Rows attributed_;
  ColumnMaps<KindT>& maps_;
};

}  // namespace omni::profile
