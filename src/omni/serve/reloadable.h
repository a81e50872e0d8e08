// Reloadable<T>: what the server serves from (the identity resolution, the
// profile build, and models such as a RecommendationService) behind one
// pointer that a reload swaps without stopping requests.
//
//   std::shared_ptr<const T> now = holder.Get();   // a request keeps its copy
//   holder.Swap(std::make_shared<const T>(...));   // reload: atomic switch
//
// A request that started on the old version finishes on it (its shared_ptr
// keeps it alive); the next request sees the new one; the old version is
// freed when its last request ends. The mutex guards only the pointer copy
// (tens of nanoseconds), never loading — loading happens before Swap.
// (std::atomic<std::shared_ptr> does the same with a lock inside libstdc++.)
#pragma once

#include <memory>
#include <mutex>

namespace omni::serve {

template <typename T>
class Reloadable {
 public:
  std::shared_ptr<const T> Get() const {
    std::lock_guard lock(mu_);
    return value_;
  }
  // The previous version is released after the lock (its destructor may be slow).
  void Swap(std::shared_ptr<const T> next) {
    {
      std::lock_guard lock(mu_);
      value_.swap(next);
    }
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;
};

}  // namespace omni::serve
