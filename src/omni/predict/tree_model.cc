// A CART decision tree (Gini impurity) — the seed's method, kept as a
// baseline so the gain of boosting is visible.
//   tree:depth=6,min_leaf=50,balance=0
// Splits are x < threshold (midpoints between distinct values); rows with a
// missing value go to the side that lowers impurity more, learned per split
// (XGBoost's "default direction"). A split needs min_leaf rows on each side.
// Class weights (balance=1) weigh the impurity; a leaf's probability is its
// unweighted, Laplace-smoothed positive rate (pos + 1) / (n + 2), so it
// needs little calibration. Reason codes follow Saabas: along a customer's
// path every split's change in log-odds is credited to its feature.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "omni/common/json_writer.h"
#include "omni/predict/model_json.h"
#include "omni/predict/propensity_model.h"

namespace omni::predict {
namespace {

struct Node {
  int32_t feature = -1;  // -1: leaf
  float threshold = 0;
  bool missing_left = false;
  int32_t left = -1, right = -1;
  double probability = 0;
};

double Logit(double p) { return std::log(p / (1 - p)); }

class TreeModel : public PropensityModel {
 public:
  static StatusOr<std::unique_ptr<PropensityModel>> Make(const Spec& s) {
    OMNI_RETURN_IF_ERROR(s.CheckKnown({"depth", "min_leaf", "balance"}));
    auto m = std::make_unique<TreeModel>();
    OMNI_ASSIGN_OR_RETURN(m->depth_, s.GetInt("depth", 6, 1, 40));
    OMNI_ASSIGN_OR_RETURN(m->min_leaf_, s.GetInt("min_leaf", 50, 1, 1LL << 40));
    OMNI_ASSIGN_OR_RETURN(m->balance_, s.GetBool("balance", false));
    return std::unique_ptr<PropensityModel>(std::move(m));
  }

  std::string name() const override { return "tree"; }
  std::string spec() const override {
    return fmt::format("tree:depth={},min_leaf={},balance={}", depth_, min_leaf_, balance_ ? 1 : 0);
  }

  Status Fit(const FeatureTable& train, const FeatureTable*) override {
    if (!train.labelled()) return InvalidArgument("tree: the training table has no label column");
    if (train.rows() == 0) return InvalidArgument("tree: empty training table");
    nodes_.clear();
    cols_ = train.cols();
    const ClassBalance b = BalanceOf(train, balance_);
    pw_ = b.positive_weight;
    nw_ = b.negative_weight;
    std::vector<int64_t> rows(train.rows());
    std::iota(rows.begin(), rows.end(), 0);
    Grow(train, rows, 0);
    return Status::Ok();
  }

  Status Predict(const FeatureTable& rows, std::vector<double>& out) const override {
    OMNI_RETURN_IF_ERROR(CheckColumns(rows));
    out.resize(rows.rows());
    for (int64_t i = 0; i < rows.rows(); ++i) out[i] = nodes_[Leaf(rows, i, nullptr)].probability;
    return Status::Ok();
  }

  Status Contributions(const FeatureTable& rows, std::vector<float>& out) const override {
    OMNI_RETURN_IF_ERROR(CheckColumns(rows));
    const int32_t d = rows.cols();
    out.assign(static_cast<size_t>(rows.rows()) * (d + 1), 0.0f);
    for (int64_t i = 0; i < rows.rows(); ++i) Leaf(rows, i, &out[static_cast<size_t>(i) * (d + 1)]);
    return Status::Ok();
  }

  std::string FitSummary() const override {
    int leaves = 0;
    for (const Node& n : nodes_) leaves += n.feature < 0;
    return fmt::format("{} leaves", leaves);
  }

  Status Save(const std::string& path) const override {
    JsonWriter w;
    w.BeginObject().Key("model").String("tree").Key("spec").String(spec()).Key("cols").Int(cols_);
    auto array = [&](const char* key, auto get) {
      w.Key(key).BeginArray();
      for (const Node& n : nodes_) w.Double(get(n));
      w.EndArray();
    };
    array("feature", [](const Node& n) { return double(n.feature); });
    array("threshold", [](const Node& n) { return double(n.threshold); });
    array("missing_left", [](const Node& n) { return n.missing_left ? 1.0 : 0.0; });
    array("left", [](const Node& n) { return double(n.left); });
    array("right", [](const Node& n) { return double(n.right); });
    array("probability", [](const Node& n) { return n.probability; });
    w.EndObject();
    return WriteTextFile(path, w.str());
  }

  Status Load(const std::string& path) override {
    OMNI_ASSIGN_OR_RETURN(ModelJson j, ModelJson::Open(path, "tree"));
    OMNI_ASSIGN_OR_RETURN(double cols, j.Number("cols"));
    cols_ = static_cast<int32_t>(cols);
    OMNI_ASSIGN_OR_RETURN(auto feature, j.Numbers("feature"));
    OMNI_ASSIGN_OR_RETURN(auto threshold, j.Numbers("threshold"));
    OMNI_ASSIGN_OR_RETURN(auto missing_left, j.Numbers("missing_left"));
    OMNI_ASSIGN_OR_RETURN(auto left, j.Numbers("left"));
    OMNI_ASSIGN_OR_RETURN(auto right, j.Numbers("right"));
    OMNI_ASSIGN_OR_RETURN(auto probability, j.Numbers("probability"));
    const size_t n = feature.size();
    if (n == 0 || threshold.size() != n || missing_left.size() != n || left.size() != n || right.size() != n ||
        probability.size() != n) {
      return InvalidArgument(path + ": node arrays of different lengths");
    }
    nodes_.assign(n, Node{});
    for (size_t i = 0; i < n; ++i) {
      Node& x = nodes_[i];
      x.feature = static_cast<int32_t>(feature[i]);
      x.threshold = static_cast<float>(threshold[i]);
      x.missing_left = missing_left[i] != 0;
      x.left = static_cast<int32_t>(left[i]);
      x.right = static_cast<int32_t>(right[i]);
      x.probability = probability[i];
      const auto bad = [&](int32_t c) { return c <= static_cast<int32_t>(i) || c >= static_cast<int32_t>(n); };
      if (x.feature >= cols_ || (x.feature >= 0 && (bad(x.left) || bad(x.right)))) {
        return InvalidArgument(path + fmt::format(": node {} is malformed", i));
      }
    }
    return Status::Ok();
  }

 private:
  struct Split {
    double gain = 0;
    int32_t feature = -1;
    float threshold = 0;
    bool missing_left = false;
  };

  // Weighted Gini impurity times weight: W - (p^2 + q^2) / W.
  static double Impurity(double p, double q) {
    const double w = p + q;
    return w > 0 ? w - (p * p + q * q) / w : 0;
  }

  int32_t Grow(const FeatureTable& t, std::vector<int64_t>& rows, int64_t depth) {
    const int32_t id = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
    int64_t pos = 0;
    for (int64_t r : rows) pos += t.label[r] > 0.5f;
    nodes_[id].probability = (pos + 1.0) / (static_cast<double>(rows.size()) + 2.0);
    if (depth >= depth_ || pos == 0 || pos == static_cast<int64_t>(rows.size()) ||
        static_cast<int64_t>(rows.size()) < 2 * min_leaf_) {
      return id;
    }
    const Split s = BestSplit(t, rows);
    if (s.feature < 0) return id;
    std::vector<int64_t> left, right;
    for (int64_t r : rows) {
      const float v = t.at(r, s.feature);
      (std::isnan(v) ? s.missing_left : v < s.threshold) ? left.push_back(r) : right.push_back(r);
    }
    rows.clear();
    rows.shrink_to_fit();
    nodes_[id].feature = s.feature;
    nodes_[id].threshold = s.threshold;
    nodes_[id].missing_left = s.missing_left;
    const int32_t l = Grow(t, left, depth + 1);
    nodes_[id].left = l;
    const int32_t r = Grow(t, right, depth + 1);
    nodes_[id].right = r;
    return id;
  }

  Split BestSplit(const FeatureTable& t, const std::vector<int64_t>& rows) const {
    Split best;
    struct Item {
      float x;
      bool y;
    };
    std::vector<Item> items;
    items.reserve(rows.size());
    double parent_p = 0, parent_q = 0;
    for (int64_t r : rows) (t.label[r] > 0.5f ? parent_p : parent_q) += t.label[r] > 0.5f ? pw_ : nw_;
    const double parent = Impurity(parent_p, parent_q);
    for (int32_t f = 0; f < t.cols(); ++f) {
      items.clear();
      double mp = 0, mq = 0;
      int64_t missing = 0;
      for (int64_t r : rows) {
        const float v = t.at(r, f);
        const bool y = t.label[r] > 0.5f;
        if (std::isnan(v)) {
          (y ? mp : mq) += y ? pw_ : nw_;
          ++missing;
        } else {
          items.push_back({v, y});
        }
      }
      if (items.size() < 2) continue;
      std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.x < b.x; });
      const double tp = parent_p - mp, tq = parent_q - mq;  // non-missing totals
      double lp = 0, lq = 0;
      const int64_t k = static_cast<int64_t>(items.size());
      for (int64_t i = 0; i + 1 < k; ++i) {
        (items[i].y ? lp : lq) += items[i].y ? pw_ : nw_;
        if (items[i].x == items[i + 1].x) continue;
        const int64_t nl = i + 1, nr = k - nl;
        const float threshold = items[i].x + (items[i + 1].x - items[i].x) / 2;
        // Missing rows to the left, then to the right.
        for (int side = 0; side < 2; ++side) {
          const bool ml = side == 0;
          if (missing == 0 && !ml) break;
          const int64_t cl = nl + (ml ? missing : 0), cr = nr + (ml ? 0 : missing);
          if (cl < min_leaf_ || cr < min_leaf_) continue;
          const double gain = parent - Impurity(lp + (ml ? mp : 0), lq + (ml ? mq : 0)) -
                              Impurity(tp - lp + (ml ? 0 : mp), tq - lq + (ml ? 0 : mq));
          if (gain > best.gain + 1e-12) {
            best = Split{gain, f, threshold, ml};
            // A threshold equal to the upper value would send it left.
            if (!(best.threshold > items[i].x)) best.threshold = items[i + 1].x;
          }
        }
      }
    }
    return best;
  }

  // The leaf of row i; adds Saabas contributions to `contrib` when given.
  int32_t Leaf(const FeatureTable& t, int64_t i, float* contrib) const {
    int32_t n = 0;
    if (contrib) contrib[t.cols()] = static_cast<float>(Logit(nodes_[0].probability));
    while (nodes_[n].feature >= 0) {
      const Node& x = nodes_[n];
      const float v = t.at(i, x.feature);
      const int32_t next = (std::isnan(v) ? x.missing_left : v < x.threshold) ? x.left : x.right;
      if (contrib) {
        contrib[x.feature] += static_cast<float>(Logit(nodes_[next].probability) - Logit(x.probability));
      }
      n = next;
    }
    return n;
  }

  Status CheckColumns(const FeatureTable& rows) const {
    if (nodes_.empty()) return FailedPrecondition("tree: not fitted");
    if (rows.cols() != cols_) {
      return InvalidArgument(fmt::format("tree: the table has {} features, the model {}", rows.cols(), cols_));
    }
    return Status::Ok();
  }

  int64_t depth_ = 6, min_leaf_ = 50;
  bool balance_ = false;
  double pw_ = 1, nw_ = 1;
  int32_t cols_ = 0;
  std::vector<Node> nodes_;
};

}  // namespace

StatusOr<std::unique_ptr<PropensityModel>> MakeTreeModel(const Spec& spec) { return TreeModel::Make(spec); }

}  // namespace omni::predict
