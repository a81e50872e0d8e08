// One factory per model file; registry.cc maps names to these.
#pragma once

#include <memory>

#include "omni/common/spec.h"
#include "omni/recommend/recommender.h"

namespace omni::recommend {

StatusOr<std::unique_ptr<Recommender>> MakePopularity(const Spec& spec);   // popularity.cc
StatusOr<std::unique_ptr<Recommender>> MakeItemKnn(const Spec& spec);      // item_knn.cc
StatusOr<std::unique_ptr<Recommender>> MakeEase(const Spec& spec);         // ease.cc
StatusOr<std::unique_ptr<Recommender>> MakeDenseCosineCf(const Spec& spec);  // dense_cosine_cf.cc (the seed's method)
StatusOr<std::unique_ptr<Recommender>> MakeAls(const Spec& spec);          // als.cc
StatusOr<std::unique_ptr<Recommender>> MakeRp3Beta(const Spec& spec);      // rp3beta.cc

}  // namespace omni::recommend
