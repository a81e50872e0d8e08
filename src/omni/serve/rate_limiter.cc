#include "omni/serve/rate_limiter.h"

#include <algorithm>

namespace omni::serve {

RateLimiter::Decision RateLimiter::Take(int64_t key_id, double rate, double burst, Clock::time_point now) {
  if (rate <= 0) return {};
  burst = std::max(1.0, burst);
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(key_id);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst;  // a new key starts with a full bucket
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
    if (elapsed > 0) b.tokens = std::min(burst, b.tokens + elapsed * rate);
  }
  b.refilled = std::max(b.refilled, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  return {false, (1.0 - b.tokens) / rate};
}

}  // namespace omni::serve
