// Randomness for the demo generator: one seeded engine (xoshiro256**), a
// stateless hash for values that must be re-derivable without storing them
// (a person's cookie number k, a household's tablet id), Vose alias tables for
// O(1) weighted draws (Zipf item popularity, customer activity), and a keyed
// bijection on [0, n) so phone numbers and member cards are unique by
// construction instead of by a set of everything issued so far.
//
// Everything here is deterministic for a given seed on a given build: the
// generator's byte-identical-output promise rests on it. <random>
// distributions are used only where the algorithm is fixed by the library we
// build against (libstdc++'s normal_distribution).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "omni/common/status.h"

namespace omni::demo {

// Stafford's mix13 finaliser (the SplitMix64 output function): a strong,
// cheap 64-bit mixer.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Hash of a tuple: each component is folded in through the mixer, so
// (a, b) and (b, a) differ.
inline uint64_t HashOf(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0) {
  uint64_t h = Mix64(a + 0x9e3779b97f4a7c15ULL);
  h = Mix64(h ^ (b + 0x632be59bd9b4e019ULL));
  h = Mix64(h ^ (c + 0x85157af5ULL));
  return Mix64(h ^ (d + 0x2545f4914f6cdd1dULL));
}

// xoshiro256** (Blackman & Vigna), seeded through SplitMix64. Satisfies
// UniformRandomBitGenerator so <random> distributions accept it.
class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed) {
    for (auto& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      word = Mix64(seed);
    }
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~uint64_t{0}; }

  result_type operator()() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the tiny bias
  // for huge n does not matter for synthetic data and keeps it branch-free).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>((*this)()) * n) >> 64);
  }
  // Uniform integer in [lo, hi], inclusive.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Chance(double p) { return Uniform() < p; }
  double Normal() { return normal_(*this); }
  double LogNormal(double mu, double sigma) { return std::exp(mu + sigma * Normal()); }
  // Exponential with the given mean.
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  // Geometric count >= 0 with the given mean.
  int Geometric(double mean) {
    const double p = 1.0 / (1.0 + mean);
    return static_cast<int>(std::floor(std::log1p(-Uniform()) / std::log1p(-p)));
  }
  // Index drawn in proportion to `weights` (a handful of entries; linear scan).
  size_t Pick(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double u = Uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (u < weights[i]) return i;
      u -= weights[i];
    }
    // Rounding left u just above the last bucket: take the last positive one.
    for (size_t i = weights.size(); i-- > 0;) {
      if (weights[i] > 0) return i;
    }
    return 0;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  std::normal_distribution<double> normal_;
};

// Vose's alias method: O(n) build, O(1) draw. Used wherever a draw is made
// per event from a large population (items by popularity, customers by
// activity), where a binary search over a cumulative table would dominate.
class AliasTable {
 public:
  AliasTable() = default;
  // Weights must be finite and >= 0 with a positive sum.
  explicit AliasTable(std::span<const double> weights) {
    const size_t n = weights.size();
    OMNI_CHECK(n > 0 && n < (size_t{1} << 32));
    prob_.assign(n, 1.0f);
    alias_.resize(n);
    double total = 0;
    for (double w : weights) total += w;
    OMNI_CHECK(total > 0);
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      alias_[i] = static_cast<uint32_t>(i);
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back();
      small.pop_back();
      const uint32_t l = large.back();
      prob_[s] = static_cast<float>(scaled[s]);
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Leftovers are 1 up to rounding.
  }
  size_t size() const { return prob_.size(); }
  uint32_t Sample(Rng& rng) const {
    const uint32_t i = static_cast<uint32_t>(rng.Below(prob_.size()));
    return rng.Uniform() < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<float> prob_;
  std::vector<uint32_t> alias_;
};

// A keyed bijection on [0, n): a 4-round balanced Feistel network on the
// smallest even bit width covering n, with cycle walking back into range
// (expected < 4 steps since the domain is < 4n). Distinct inputs give distinct
// outputs, which is what makes generated phone numbers unique without a set.
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t key) : n_(n), key_(key) {
    OMNI_CHECK(n > 0);
    int bits = 2;
    while ((uint64_t{1} << bits) < n) bits += 2;
    half_bits_ = bits / 2;
    half_mask_ = (uint64_t{1} << half_bits_) - 1;
  }
  uint64_t operator()(uint64_t x) const {
    OMNI_CHECK(x < n_);
    do {
      x = Round(x);
    } while (x >= n_);
    return x;
  }

 private:
  uint64_t Round(uint64_t x) const {
    uint64_t left = x >> half_bits_;
    uint64_t right = x & half_mask_;
    for (uint64_t r = 0; r < 4; ++r) {
      const uint64_t next = left ^ (HashOf(key_, r, right) & half_mask_);
      left = right;
      right = next;
    }
    return (left << half_bits_) | right;
  }
  uint64_t n_;
  uint64_t key_;
  int half_bits_ = 1;
  uint64_t half_mask_ = 1;
};

}  // namespace omni::demo
