// Per-key rate limits: one token bucket per API key. A bucket holds up to
// `burst` tokens and refills at `rate` tokens per second; a request takes one
// token or is refused with the time until the next token (the 429's
// Retry-After). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace omni::serve {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool allowed = true;
    double retry_after_s = 0;  // when refused: seconds until a token is there
  };

  // rate <= 0 means unlimited. burst < 1 is taken as 1.
  Decision Take(int64_t key_id, double rate, double burst, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled;
  };
  std::mutex mu_;
  std::unordered_map<int64_t, Bucket> buckets_;
};

}  // namespace omni::serve
