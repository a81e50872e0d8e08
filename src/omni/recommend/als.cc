#include "omni/recommend/als.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include <Eigen/Dense>
#include <immintrin.h>

#include "omni/recommend/artefact.h"
#include "omni/recommend/models.h"

namespace omni::recommend {
namespace {

// ---------------------------------------------------------------------------
// Hyper-parameters: declared once; parsing, canonical spec and help read this.
struct ParamDef {
  std::string_view name;
  double def;
  double lo;
  double hi;
  bool integer;
  std::string_view help;
};
enum ParamIndex { kFactors, kReg, kAlpha, kIters, kCgSteps, kSeed, kThreads, kParamCount };
constexpr ParamDef kParams[kParamCount] = {
    {"factors", 64, 1, 256, true, "latent dimensions per customer and item"},
    {"reg", 0.05, 0, 1e6, false, "L2 regularisation (lambda) on every factor vector"},
    {"alpha", 1.0, 0, 1e6, false, "confidence slope: c = 1 + alpha * |weight|"},
    {"iters", 15, 1, 1000, true, "alternating sweeps (customers, then items)"},
    {"cg_steps", 3, 0, 256, true,
     "conjugate-gradient steps per solve, warm-started; 0 = exact Cholesky (slow, for checks)"},
    {"seed", 42, 0, 9007199254740992.0, true, "seed of the random initial factors"},
    {"threads", 2, 1, 256, true, "worker threads (results do not depend on it)"},
};

std::string FormatNumber(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

// ---------------------------------------------------------------------------
// Threads: rows are handed out in chunks from an atomic counter. Every row's
// result depends only on read-only inputs, so scheduling cannot change it.
template <typename Fn>
void ParallelFor(int64_t n, int threads, int64_t grain, const Fn& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t chunks = (n + grain - 1) / grain;
  const int workers = static_cast<int>(std::min<int64_t>(std::max(1, threads), chunks));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
      fn(c * grain, std::min(n, (c + 1) * grain));
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Identifies the history row a customer was fitted on, so Score can tell a
// training row from one with fresh events without keeping the matrix.
// Values are hashed with their last 8 mantissa bits dropped: the serving
// layer sums a customer's event weights in arrival order, the training
// matrix in another order, and the two sums may differ in the last bits
// (a real change of weight, a new event, moves far more than 2⁻¹⁵).
uint64_t RowFingerprint(std::span<const int32_t> idx, std::span<const float> val) {
  uint64_t h = SplitMix64(idx.size());
  for (size_t j = 0; j < idx.size(); ++j) {
    const uint32_t bits = (std::bit_cast<uint32_t>(val[j]) + 0x80u) & ~0xFFu;
    h = SplitMix64(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(idx[j])) << 32 | bits));
  }
  return h;
}

// Factor rows are padded to whole 16-float blocks (zeros in the padding) so
// the kernels below run on fixed-width vectors with no tail loop; the block
// counts we compile kernels for are listed here.
int PaddedBlocks(int k) {
  const int nb = (k + 15) / 16;
  return nb <= 8 ? nb : (nb <= 12 ? 12 : 16);
}

// Transposes CSR (customers × items) into items × customers by counting sort;
// local so ALS does not wait on interaction_matrix.cc. Rows come out sorted.
InteractionMatrix TransposeCsr(const InteractionMatrix& m) {
  InteractionMatrix t;
  t.rows = m.cols;
  t.cols = m.rows;
  t.indptr.assign(static_cast<size_t>(m.cols) + 1, 0);
  for (int32_t c : m.indices) ++t.indptr[c + 1];
  for (int32_t c = 0; c < m.cols; ++c) t.indptr[c + 1] += t.indptr[c];
  t.indices.resize(m.indices.size());
  t.values.resize(m.values.size());
  std::vector<int64_t> fill(t.indptr.begin(), t.indptr.end() - 1);
  for (int32_t r = 0; r < m.rows; ++r) {
    for (int64_t p = m.indptr[r]; p < m.indptr[r + 1]; ++p) {
      const int64_t dst = fill[m.indices[p]]++;
      t.indices[dst] = r;
      t.values[dst] = m.values[p];
    }
  }
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------
// 64-byte aligned factor rows: a row of 64 floats is exactly 4 cache lines,
// which matters when the item sweep gathers customer rows from memory.
struct AlsModel::Factors {
  int32_t rows = 0;
  int k = 0;
  int stride = 0;  // floats per row, a multiple of 16
  float* data = nullptr;

  Factors(int32_t r, int factors) : rows(r), k(factors), stride(16 * PaddedBlocks(factors)) {
    const size_t bytes = std::max<size_t>(64, static_cast<size_t>(rows) * stride * sizeof(float));
    data = static_cast<float*>(std::aligned_alloc(64, bytes));
    OMNI_CHECK(data != nullptr);
    std::memset(data, 0, bytes);
  }
  ~Factors() { std::free(data); }
  Factors(const Factors&) = delete;
  Factors& operator=(const Factors&) = delete;
  float* Row(int64_t r) { return data + r * stride; }
  const float* Row(int64_t r) const { return data + r * stride; }
};

namespace {

// ---------------------------------------------------------------------------
// Kernels. Written once on GCC vector types of 16 floats and compiled for
// AVX-512, AVX2 and baseline x86-64 (the build uses no -march flag); the
// best one is picked at run time. The build's ISO mode turns FMA contraction
// off, and horizontal sums run in a fixed tree, so every variant produces
// the same bits.
using V16 = float __attribute__((vector_size(64)));
using V8 = float __attribute__((vector_size(32)));
using V4 = float __attribute__((vector_size(16)));
// The Gram matrix lives in a std::vector (16-byte aligned): read it unaligned.
using V16Unaligned = float __attribute__((vector_size(64), aligned(4)));
#define OMNI_ALS_INLINE inline __attribute__((always_inline))

OMNI_ALS_INLINE float HSum(const V16& v) {
  V8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
         __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  V4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
}

template <int NB>
OMNI_ALS_INLINE float Dot(const V16* a, const V16* b) {
  V16 acc = a[0] * b[0];
  for (int i = 1; i < NB; ++i) acc += a[i] * b[i];
  return HSum(acc);
}

// out = G·v for the padded, symmetric Gram matrix G (rows of `stride` floats).
template <int NB>
OMNI_ALS_INLINE void GramTimes(const float* gram, int k, const V16* v, V16* out) {
  for (int i = 0; i < NB; ++i) out[i] = V16{};
  for (int j = 0; j < k; ++j) {
    const V16Unaligned* g = reinterpret_cast<const V16Unaligned*>(gram + static_cast<int64_t>(j) * NB * 16);
    const float s = v[j / 16][j % 16];
    for (int i = 0; i < NB; ++i) out[i] += g[i] * s;
  }
}

struct SweepArgs {
  const InteractionMatrix* m;  // rows = the side being solved
  const float* other;          // the fixed side's factors
  const float* gram;           // otherᵀ·other + reg·I, padded
  float* self;                 // the solved side's factors (warm start in, result out)
  int k;
  float alpha;
  int steps;
};

constexpr int kPrefetchAhead = 8;

// Conjugate gradient on (G + Σ c1·y yᵀ) x = Σ pref·y for one row, from the
// row's current x. Each pass over the row does the dot and the update on the
// same factor row while it is in L1.
template <int NB>
OMNI_ALS_INLINE void CgRow(const SweepArgs& a, int64_t row) {
  constexpr int64_t kStride = NB * 16;
  const int64_t begin = a.m->indptr[row], end = a.m->indptr[row + 1];
  const int32_t* idx = a.m->indices.data();
  const float* val = a.m->values.data();
  V16* xp = reinterpret_cast<V16*>(a.self + row * kStride);
  V16 x[NB], r[NB], p[NB], ap[NB];
  for (int i = 0; i < NB; ++i) x[i] = xp[i];
  auto factor_row = [&](int64_t j) {
    if (j + kPrefetchAhead < end) {
      const float* ahead = a.other + idx[j + kPrefetchAhead] * kStride;
      for (int i = 0; i < NB; ++i) __builtin_prefetch(ahead + 16 * i);
    }
    return reinterpret_cast<const V16*>(a.other + idx[j] * kStride);
  };
  // r = b - A x
  GramTimes<NB>(a.gram, a.k, x, r);
  for (int i = 0; i < NB; ++i) r[i] = -r[i];
  for (int64_t j = begin; j < end; ++j) {
    const V16* y = factor_row(j);
    const float c1 = a.alpha * std::fabs(val[j]);
    const float pref = val[j] > 0 ? 1.0f + c1 : 0.0f;
    const float w = pref - c1 * Dot<NB>(y, x);
    for (int i = 0; i < NB; ++i) r[i] += y[i] * w;
  }
  for (int i = 0; i < NB; ++i) p[i] = r[i];
  float rs = Dot<NB>(r, r);
  for (int step = 0; step < a.steps && rs > 1e-20f; ++step) {
    GramTimes<NB>(a.gram, a.k, p, ap);
    for (int64_t j = begin; j < end; ++j) {
      const V16* y = factor_row(j);
      const float w = a.alpha * std::fabs(val[j]) * Dot<NB>(y, p);
      for (int i = 0; i < NB; ++i) ap[i] += y[i] * w;
    }
    const float pap = Dot<NB>(p, ap);
    if (!(pap > 0)) break;  // only when p vanished to rounding
    const float step_len = rs / pap;
    for (int i = 0; i < NB; ++i) {
      x[i] += p[i] * step_len;
      r[i] -= ap[i] * step_len;
    }
    const float rs_new = Dot<NB>(r, r);
    const float beta = rs_new / rs;
    for (int i = 0; i < NB; ++i) p[i] = r[i] + p[i] * beta;
    rs = rs_new;
  }
  for (int i = 0; i < NB; ++i) xp[i] = x[i];
}

template <int NB>
OMNI_ALS_INLINE void CgRange(const SweepArgs& a, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) CgRow<NB>(a, row);
}

// scores[j] = y_j · x for every item row: the serving path for one customer.
template <int NB>
OMNI_ALS_INLINE void DotRows(const float* y, int64_t rows, const float* x, float* scores) {
  V16 xv[NB];
  for (int i = 0; i < NB; ++i) xv[i] = reinterpret_cast<const V16*>(x)[i];
  for (int64_t j = 0; j < rows; ++j) scores[j] = Dot<NB>(reinterpret_cast<const V16*>(y + j * NB * 16), xv);
}

OMNI_ALS_INLINE void DotRowsDispatch(int nb, const float* y, int64_t rows, const float* x, float* scores) {
  switch (nb) {
    case 1: return DotRows<1>(y, rows, x, scores);
    case 2: return DotRows<2>(y, rows, x, scores);
    case 3: return DotRows<3>(y, rows, x, scores);
    case 4: return DotRows<4>(y, rows, x, scores);
    case 5: return DotRows<5>(y, rows, x, scores);
    case 6: return DotRows<6>(y, rows, x, scores);
    case 7: return DotRows<7>(y, rows, x, scores);
    case 8: return DotRows<8>(y, rows, x, scores);
    case 12: return DotRows<12>(y, rows, x, scores);
    case 16: return DotRows<16>(y, rows, x, scores);
  }
  OMNI_CHECK(false && "unsupported block count");
}

OMNI_ALS_INLINE void CgDispatch(const SweepArgs& a, int nb, int64_t begin, int64_t end) {
  switch (nb) {
    case 1: return CgRange<1>(a, begin, end);
    case 2: return CgRange<2>(a, begin, end);
    case 3: return CgRange<3>(a, begin, end);
    case 4: return CgRange<4>(a, begin, end);
    case 5: return CgRange<5>(a, begin, end);
    case 6: return CgRange<6>(a, begin, end);
    case 7: return CgRange<7>(a, begin, end);
    case 8: return CgRange<8>(a, begin, end);
    case 12: return CgRange<12>(a, begin, end);
    case 16: return CgRange<16>(a, begin, end);
  }
  OMNI_CHECK(false && "unsupported block count");
}

__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))) void CgAvx512(const SweepArgs& a, int nb,
                                                                              int64_t begin, int64_t end) {
  CgDispatch(a, nb, begin, end);
}
__attribute__((target("avx2,fma"))) void CgAvx2(const SweepArgs& a, int nb, int64_t begin, int64_t end) {
  CgDispatch(a, nb, begin, end);
}
void CgBaseline(const SweepArgs& a, int nb, int64_t begin, int64_t end) { CgDispatch(a, nb, begin, end); }

__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))) void DotRowsAvx512(int nb, const float* y, int64_t rows,
                                                                                   const float* x, float* scores) {
  DotRowsDispatch(nb, y, rows, x, scores);
}
__attribute__((target("avx2,fma"))) void DotRowsAvx2(int nb, const float* y, int64_t rows, const float* x,
                                                     float* scores) {
  DotRowsDispatch(nb, y, rows, x, scores);
}
void DotRowsBaseline(int nb, const float* y, int64_t rows, const float* x, float* scores) {
  DotRowsDispatch(nb, y, rows, x, scores);
}

// The same over item factors stored in half precision (the serving copy):
// half the bytes streamed per request, which is what a one-customer request
// over a large catalogue waits on. Conversion to float is exact (vcvtph2ps;
// GCC 12 would convert _Float16 vectors element by element in software),
// products and sums are in float as above.
__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))) void DotRowsHalfAvx512(int nb, const uint16_t* y,
                                                                                       int64_t rows, const float* x,
                                                                                       float* scores) {
  V16 xv[16];
  for (int i = 0; i < nb; ++i) xv[i] = reinterpret_cast<const V16*>(x)[i];
  for (int64_t j = 0; j < rows; ++j) {
    const uint16_t* row = y + j * nb * 16;
    // The zero-masked form: the plain one starts from _mm512_undefined_ps,
    // which GCC 12 flags as maybe-uninitialised.
    auto block = [row](int i) __attribute__((target("avx512f"))) {
      return (V16)_mm512_maskz_cvtph_ps(0xFFFF, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 16 * i)));
    };
    V16 acc = block(0) * xv[0];
    for (int i = 1; i < nb; ++i) acc += block(i) * xv[i];
    scores[j] = HSum(acc);
  }
}
__attribute__((target("avx2,fma,f16c"))) void DotRowsHalfAvx2(int nb, const uint16_t* y, int64_t rows, const float* x,
                                                              float* scores) {
  V16 xv[16];
  for (int i = 0; i < nb; ++i) xv[i] = reinterpret_cast<const V16*>(x)[i];
  for (int64_t j = 0; j < rows; ++j) {
    const uint16_t* row = y + j * nb * 16;
    V16 acc{};  // 0 + a == a: the same sums as starting from the first product
    for (int i = 0; i < nb; ++i) {
      const V8 lo = (V8)_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * i)));
      const V8 hi = (V8)_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * i + 8)));
      acc += V16(__builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)) * xv[i];
    }
    scores[j] = HSum(acc);
  }
}
void DotRowsHalfBaseline(int nb, const uint16_t* y, int64_t rows, const float* x, float* scores) {
  V16 xv[16];
  for (int i = 0; i < nb; ++i) xv[i] = reinterpret_cast<const V16*>(x)[i];
  for (int64_t j = 0; j < rows; ++j) {
    const uint16_t* row = y + j * nb * 16;
    V16 acc{};
    for (int i = 0; i < nb; ++i) {
      V16 v{};
      for (int e = 0; e < 16; ++e) v[e] = static_cast<float>(std::bit_cast<_Float16>(row[16 * i + e]));
      acc += v * xv[i];
    }
    scores[j] = HSum(acc);
  }
}

enum class Isa { kAvx512, kAvx2, kBaseline };
Isa DetectIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")) {
    return Isa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    return Isa::kAvx2;
  }
  return Isa::kBaseline;
}
const Isa kIsa = DetectIsa();
using CgFn = void (*)(const SweepArgs&, int, int64_t, int64_t);
const CgFn kCgKernel = kIsa == Isa::kAvx512 ? CgAvx512 : kIsa == Isa::kAvx2 ? CgAvx2 : CgBaseline;
using DotRowsFn = void (*)(int, const float*, int64_t, const float*, float*);
const DotRowsFn kDotRowsKernel =
    kIsa == Isa::kAvx512 ? DotRowsAvx512 : kIsa == Isa::kAvx2 ? DotRowsAvx2 : DotRowsBaseline;
using DotRowsHalfFn = void (*)(int, const uint16_t*, int64_t, const float*, float*);
const DotRowsHalfFn kDotRowsHalfKernel =
    kIsa == Isa::kAvx512 ? DotRowsHalfAvx512 : kIsa == Isa::kAvx2 ? DotRowsHalfAvx2 : DotRowsHalfBaseline;

// Exact solve of the same system in double precision (Cholesky), for
// cg_steps=0, fold-in and as the reference the CG solver is tested against.
void ExactRow(const float* other, int stride, const float* gram, int k, float alpha, std::span<const int32_t> idx,
              std::span<const float> val, Eigen::MatrixXd& a, Eigen::VectorXd& b, float* out) {
  for (int i = 0; i < k; ++i) {
    for (int j = 0; j < k; ++j) a(i, j) = gram[static_cast<int64_t>(i) * stride + j];
  }
  b.setZero();
  for (size_t j = 0; j < idx.size(); ++j) {
    Eigen::Map<const Eigen::VectorXf> yf(other + static_cast<int64_t>(idx[j]) * stride, k);
    const Eigen::VectorXd y = yf.cast<double>();
    const double c1 = static_cast<double>(alpha) * std::fabs(val[j]);
    a.noalias() += c1 * y * y.transpose();
    if (val[j] > 0) b += (1.0 + c1) * y;
  }
  Eigen::LDLT<Eigen::MatrixXd> ldlt(a);  // LDLT: still defined when reg = 0 leaves A semi-definite
  const Eigen::VectorXd x = ldlt.solve(b);
  for (int i = 0; i < k; ++i) out[i] = std::isfinite(x[i]) ? static_cast<float>(x[i]) : 0.0f;
}

// Fᵀ·F + reg·I into a padded stride × stride float matrix. Summed over fixed
// 4096-row chunks in order (in double) so the thread count cannot change it.
std::vector<float> Gram(const float* data, int32_t rows, int k, int stride, double reg,
                        int threads) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (rows + kChunk - 1) / kChunk;
  std::vector<Eigen::MatrixXf> partial(chunks);
  ParallelFor(chunks, threads, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      const int64_t r0 = c * kChunk, n = std::min<int64_t>(kChunk, rows - r0);
      Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>> f(data + r0 * stride, n, k, Eigen::OuterStride<>(stride));
      partial[c] = Eigen::MatrixXf::Zero(k, k);
      partial[c].selfadjointView<Eigen::Lower>().rankUpdate(f.transpose());
    }
  });
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(k, k);
  for (const auto& p : partial) sum += p.cast<double>();
  std::vector<float> gram(static_cast<size_t>(stride) * stride, 0.0f);
  for (int i = 0; i < k; ++i) {
    for (int j = 0; j < k; ++j) {
      const double v = i >= j ? sum(i, j) : sum(j, i);
      gram[static_cast<size_t>(i) * stride + j] = static_cast<float>(v + (i == j ? reg : 0.0));
    }
  }
  return gram;
}

void InitFactors(float* data, int32_t rows, int k, int stride, uint64_t seed, uint64_t side) {
  // Small positive values as `implicit` does; a hash per (seed, side, row,
  // column) keeps this independent of threads and platforms.
  for (int64_t r = 0; r < rows; ++r) {
    for (int j = 0; j < k; ++j) {
      const uint64_t h = SplitMix64(seed ^ SplitMix64((side << 60) ^ (static_cast<uint64_t>(r) << 9) ^ j));
      data[r * stride + j] = static_cast<float>(h >> 40) * (0.01f / 16777216.0f);
    }
  }
}

Status CheckMatrix(const InteractionMatrix& m) {
  if (m.rows <= 0 || m.cols <= 0) return InvalidArgument("als: empty interaction matrix");
  if (m.indptr.size() != static_cast<size_t>(m.rows) + 1 || m.indptr[0] != 0 ||
      m.indptr.back() != m.nnz() || m.values.size() != m.indices.size()) {
    return InvalidArgument("als: malformed interaction matrix (indptr/indices/values sizes disagree)");
  }
  for (int32_t r = 0; r < m.rows; ++r) {
    if (m.indptr[r + 1] < m.indptr[r]) return InvalidArgument("als: malformed interaction matrix (indptr)");
  }
  for (int64_t p = 0; p < m.nnz(); ++p) {
    if (m.indices[p] < 0 || m.indices[p] >= m.cols) return InvalidArgument("als: item id out of range");
    if (!std::isfinite(m.values[p])) return InvalidArgument("als: non-finite interaction weight");
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------
StatusOr<AlsOptions> ParseAlsOptions(const Spec& spec) {
  if (spec.name() != "als") return InvalidArgument("spec '" + spec.ToString() + "' is not an als spec");
  std::vector<std::string_view> known;
  for (const auto& p : kParams) known.push_back(p.name);
  OMNI_RETURN_IF_ERROR(spec.CheckKnown(known));
  double v[kParamCount];
  for (int i = 0; i < kParamCount; ++i) {
    const ParamDef& p = kParams[i];
    if (p.integer) {
      OMNI_ASSIGN_OR_RETURN(int64_t n, spec.GetInt(p.name, static_cast<int64_t>(p.def), static_cast<int64_t>(p.lo),
                                                   static_cast<int64_t>(p.hi)));
      v[i] = static_cast<double>(n);
    } else {
      OMNI_ASSIGN_OR_RETURN(v[i], spec.GetDouble(p.name, p.def, p.lo, p.hi));
    }
  }
  AlsOptions o;
  o.factors = static_cast<int>(v[kFactors]);
  o.reg = v[kReg];
  o.alpha = v[kAlpha];
  o.iters = static_cast<int>(v[kIters]);
  o.cg_steps = static_cast<int>(v[kCgSteps]);
  o.seed = static_cast<uint64_t>(v[kSeed]);
  o.threads = static_cast<int>(v[kThreads]);
  return o;
}

std::string AlsParameterHelp() {
  std::string out;
  for (const auto& p : kParams) {
    out += "  " + std::string(p.name) + " (default " + FormatNumber(p.def) + ", " + FormatNumber(p.lo) + ".." +
           FormatNumber(p.hi) + "): " + std::string(p.help) + "\n";
  }
  return out;
}

StatusOr<std::unique_ptr<Recommender>> MakeAls(const Spec& spec) {
  OMNI_ASSIGN_OR_RETURN(AlsOptions o, ParseAlsOptions(spec));
  return std::unique_ptr<Recommender>(std::make_unique<AlsModel>(o));
}

AlsModel::AlsModel(const AlsOptions& options) : options_(options) {}
AlsModel::~AlsModel() = default;

std::string AlsModel::spec() const {
  const double v[kParamCount] = {static_cast<double>(options_.factors), options_.reg, options_.alpha,
                                 static_cast<double>(options_.iters), static_cast<double>(options_.cg_steps),
                                 static_cast<double>(options_.seed), static_cast<double>(options_.threads)};
  std::string out = "als:";
  for (int i = 0; i < kParamCount; ++i) {
    out += (i ? "," : "") + std::string(kParams[i].name) + "=" + FormatNumber(v[i]);
  }
  return out;
}

Status AlsModel::Fit(const InteractionMatrix& train) {
  OMNI_RETURN_IF_ERROR(CheckMatrix(train));
  const int k = options_.factors;
  const int nb = PaddedBlocks(k);
  customers_ = train.rows;
  items_ = train.cols;
  x_ = std::make_unique<Factors>(customers_, k);
  y_ = std::make_unique<Factors>(items_, k);
  InitFactors(x_->data, customers_, k, x_->stride, options_.seed, 1);
  InitFactors(y_->data, items_, k, y_->stride, options_.seed, 2);
  const InteractionMatrix by_item = TransposeCsr(train);
  const float alpha = static_cast<float>(options_.alpha);

  auto solve_side = [&](const InteractionMatrix& m, const Factors& other, Factors& self) {
    const std::vector<float> gram =
        Gram(other.data, other.rows, k, other.stride, options_.reg, options_.threads);
    // Small chunks: a popular item's row can be 1,000x an average one.
    const int64_t grain = std::clamp<int64_t>(m.rows / (options_.threads * 256), 1, 64);
    if (options_.cg_steps > 0) {
      const SweepArgs args{&m, other.data, gram.data(), self.data, k, alpha, options_.cg_steps};
      ParallelFor(m.rows, options_.threads, grain,
                  [&](int64_t b, int64_t e) { kCgKernel(args, nb, b, e); });
    } else {
      ParallelFor(m.rows, options_.threads, grain, [&](int64_t b, int64_t e) {
        Eigen::MatrixXd a(k, k);
        Eigen::VectorXd rhs(k);
        for (int64_t r = b; r < e; ++r) {
          ExactRow(other.data, other.stride, gram.data(), k, alpha, m.RowIndices(static_cast<int32_t>(r)),
                   m.RowValues(static_cast<int32_t>(r)), a, rhs, self.Row(r));
        }
      });
    }
  };

  for (int it = 1; it <= options_.iters; ++it) {
    const auto start = std::chrono::steady_clock::now();
    solve_side(train, *y_, *x_);
    solve_side(by_item, *x_, *y_);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (iteration_callback_) iteration_callback_(it, seconds);
  }
  item_gram_ = Gram(y_->data, items_, k, y_->stride, options_.reg, options_.threads);
  BuildServingFactors();
  row_fingerprints_.resize(customers_);
  for (int32_t c = 0; c < customers_; ++c) {
    row_fingerprints_[c] = RowFingerprint(train.RowIndices(c), train.RowValues(c));
  }
  return Status::Ok();
}

std::vector<float> AlsModel::RecalculateCustomer(std::span<const int32_t> items,
                                                 std::span<const float> weights) const {
  const int k = options_.factors;
  std::vector<float> out(k, 0.0f);
  if (!y_ || items.size() != weights.size()) return out;
  // Unknown items carry no factors; they cannot inform the solve.
  std::vector<int32_t> idx;
  std::vector<float> val;
  for (size_t j = 0; j < items.size(); ++j) {
    if (items[j] >= 0 && items[j] < items_) {
      idx.push_back(items[j]);
      val.push_back(weights[j]);
    }
  }
  Eigen::MatrixXd a(k, k);
  Eigen::VectorXd b(k);
  ExactRow(y_->data, y_->stride, item_gram_.data(), k, static_cast<float>(options_.alpha), idx, val, a, b,
           out.data());
  return out;
}

std::vector<float> AlsModel::RecalculateCustomerCg(std::span<const int32_t> items, std::span<const float> weights,
                                                   int steps, std::span<const float> start) const {
  const int k = options_.factors;
  if (!y_ || items.size() != weights.size()) return std::vector<float>(k, 0.0f);
  InteractionMatrix row;
  row.rows = 1;
  row.cols = items_;
  for (size_t j = 0; j < items.size(); ++j) {
    if (items[j] >= 0 && items[j] < items_) {
      row.indices.push_back(items[j]);
      row.values.push_back(weights[j]);
    }
  }
  row.indptr = {0, row.nnz()};
  Factors x(1, k);
  for (int i = 0; i < k && i < static_cast<int>(start.size()); ++i) x.data[i] = start[i];
  const SweepArgs args{&row, y_->data, item_gram_.data(), x.data, k, static_cast<float>(options_.alpha), steps};
  kCgKernel(args, PaddedBlocks(k), 0, 1);
  return std::vector<float>(x.data, x.data + k);
}

std::span<const float> AlsModel::CustomerFactors(int32_t customer) const {
  if (!x_ || customer < 0 || customer >= customers_) return {};
  return {x_->Row(customer), static_cast<size_t>(options_.factors)};
}

std::span<const float> AlsModel::ItemFactors(int32_t item) const {
  if (!y_ || item < 0 || item >= items_) return {};
  return {y_->Row(item), static_cast<size_t>(options_.factors)};
}

// An approximation (see Recommender::Explain): x_ui · y_i·y_j ranks the
// history items whose factors point the way the recommended item's do.
void AlsModel::Explain(std::span<const int32_t> items, std::span<const float> values, int32_t item, int limit,
                       std::vector<ScoredItem>& out) const {
  out.clear();
  std::span<const float> target = ItemFactors(item);
  if (target.empty()) return;
  for (size_t a = 0; a < items.size(); ++a) {
    std::span<const float> y = ItemFactors(items[a]);
    if (y.empty()) continue;
    float dot = 0;
    for (size_t f = 0; f < y.size(); ++f) dot += y[f] * target[f];
    out.push_back({items[a], values[a] * dot});
  }
  KeepTopContributions(out, limit);
}

void AlsModel::Score(std::span<const int32_t> customers, const InteractionMatrix& history, float* scores) const {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (customers.empty() || items_ == 0) return;
  const int k = options_.factors;
  // Blocks of customers keep the gathered factor matrix small while still
  // letting Eigen's GEMM reuse each item row across customers.
  constexpr size_t kBlock = 64;
  RowMajor xb(static_cast<Eigen::Index>(std::min(kBlock, customers.size())), k);
  Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>> y(y_->data, items_, k, Eigen::OuterStride<>(y_->stride));
  for (size_t b0 = 0; b0 < customers.size(); b0 += kBlock) {
    const size_t n = std::min(kBlock, customers.size() - b0);
    for (size_t t = 0; t < n; ++t) {
      const int32_t c = customers[b0 + t];
      const bool has_row = c >= 0 && c < history.rows;
      const bool fitted = c >= 0 && c < customers_;
      if (fitted && (!has_row || RowFingerprint(history.RowIndices(c), history.RowValues(c)) ==
                                     row_fingerprints_[c])) {
        xb.row(t) = Eigen::Map<const Eigen::RowVectorXf>(x_->Row(c), k);
      } else if (has_row) {
        const std::vector<float> f = RecalculateCustomer(history.RowIndices(c), history.RowValues(c));
        xb.row(t) = Eigen::Map<const Eigen::RowVectorXf>(f.data(), k);
      } else {
        xb.row(t).setZero();
      }
    }
    if (n <= 2) {
      // A request scores one customer: a streaming dot-product kernel beats
      // GEMM's packing there.
      Factors padded(1, k);
      for (size_t t = 0; t < n; ++t) {
        std::memcpy(padded.data, xb.row(t).data(), k * sizeof(float));
        kDotRowsKernel(PaddedBlocks(k), y_->data, items_, padded.data, scores + (b0 + t) * items_);
      }
      continue;
    }
    Eigen::Map<RowMajor> out(scores + b0 * items_, n, items_);
    out.noalias() = xb.topRows(n) * y.transpose();
  }
}

void AlsModel::ScoreCustomer(int32_t training_row, std::span<const int32_t> items, std::span<const float> values,
                             float* scores) const {
  if (items_ == 0) return;
  const int k = options_.factors;
  // One padded factor row per thread: no allocation per request.
  thread_local std::unique_ptr<Factors> x;
  if (!x || x->k != k) x = std::make_unique<Factors>(1, k);
  const bool fitted = x_ && training_row >= 0 && training_row < customers_;
  if (fitted && RowFingerprint(items, values) == row_fingerprints_[training_row]) {
    // The history is the training row: the fitted factors are the answer.
    std::memcpy(x->data, x_->Row(training_row), k * sizeof(float));
  } else if (fitted) {
    // Fresh events since training: what the next training sweep would do,
    // conjugate-gradient steps warm-started from the fitted factors
    // (O(history · factors) per step, not the exact solve's history · factors²).
    const std::vector<float> f = RecalculateCustomerCg(
        items, values, std::max(options_.cg_steps, 3),
        std::span<const float>(x_->Row(training_row), static_cast<size_t>(k)));
    std::memcpy(x->data, f.data(), k * sizeof(float));
  } else if (!items.empty()) {
    const std::vector<float> f = RecalculateCustomer(items, values);
    std::memcpy(x->data, f.data(), k * sizeof(float));
  } else {
    std::fill(scores, scores + items_, 0.0f);
    return;
  }
  kDotRowsHalfKernel(PaddedBlocks(k), y_half_.data(), items_, x->data, scores);
}

void AlsModel::BuildServingFactors() {
  // Padded rows like y_ (zeros in the padding): whole 16-element blocks.
  const size_t stride = static_cast<size_t>(y_->stride);
  y_half_.assign(static_cast<size_t>(items_) * stride, 0);
  for (int32_t j = 0; j < items_; ++j) {
    const float* row = y_->Row(j);
    // Round to nearest even (GCC's float → _Float16 conversion).
    for (size_t i = 0; i < stride; ++i) y_half_[j * stride + i] = std::bit_cast<uint16_t>(static_cast<_Float16>(row[i]));
  }
}

double AlsModel::Loss(const InteractionMatrix& train) const {
  if (!x_ || !y_ || train.rows != customers_ || train.cols != items_) return NAN;
  const int k = options_.factors;
  const std::vector<float> xtx = Gram(x_->data, customers_, k, x_->stride, 0.0, options_.threads);
  const std::vector<float> yty = Gram(y_->data, items_, k, y_->stride, 0.0, options_.threads);
  // Σ over every (customer, item) of (x·y)² = <XᵀX, YᵀY>; the observed
  // entries then swap their c=1, p=0 term for the real one.
  double loss = 0;
  for (int i = 0; i < k; ++i) {
    for (int j = 0; j < k; ++j) {
      loss += static_cast<double>(xtx[static_cast<size_t>(i) * x_->stride + j]) *
              yty[static_cast<size_t>(i) * y_->stride + j];
    }
  }
  for (int32_t c = 0; c < customers_; ++c) {
    const float* x = x_->Row(c);
    for (int64_t p = train.indptr[c]; p < train.indptr[c + 1]; ++p) {
      const float* y = y_->Row(train.indices[p]);
      double s = 0;
      for (int j = 0; j < k; ++j) s += static_cast<double>(x[j]) * y[j];
      const double v = train.values[p];
      const double conf = 1.0 + options_.alpha * std::fabs(v);
      const double pref = v > 0 ? 1.0 : 0.0;
      loss += conf * (pref - s) * (pref - s) - s * s;
    }
  }
  double norms = 0;
  for (int i = 0; i < k; ++i) {
    norms += xtx[static_cast<size_t>(i) * x_->stride + i];
    norms += yty[static_cast<size_t>(i) * y_->stride + i];
  }
  loss += options_.reg * norms;
  return loss / (static_cast<double>(customers_) * items_);
}

// ---------------------------------------------------------------------------
// Artefact (artefact.h): model "als", the canonical spec, dimensions, the
// factors unpadded row by row, and the fitted rows' fingerprints.
Status AlsModel::Save(const std::string& path) const {
  if (!x_ || !y_) return FailedPrecondition("als: nothing to save, the model is not fitted");
  const int k = options_.factors;
  auto unpadded = [k](const Factors& f) {
    std::vector<float> out(static_cast<size_t>(f.rows) * k);
    for (int64_t r = 0; r < f.rows; ++r) std::memcpy(out.data() + r * k, f.Row(r), k * sizeof(float));
    return out;
  };
  ArtefactWriter w("als", spec());
  w.Int("customers", customers_);
  w.Int("items", items_);
  w.Int("factors", k);
  w.Floats("customer_factors", unpadded(*x_));
  w.Floats("item_factors", unpadded(*y_));
  std::vector<int64_t> fingerprints(row_fingerprints_.size());
  for (size_t i = 0; i < fingerprints.size(); ++i) fingerprints[i] = std::bit_cast<int64_t>(row_fingerprints_[i]);
  w.Int64s("row_fingerprints", fingerprints);
  return w.WriteTo(path);
}

Status AlsModel::Load(const std::string& path) {
  OMNI_ASSIGN_OR_RETURN(ArtefactReader r, ArtefactReader::Open(path, "als"));
  OMNI_ASSIGN_OR_RETURN(Spec parsed, Spec::Parse(r.spec()));
  OMNI_ASSIGN_OR_RETURN(AlsOptions o, ParseAlsOptions(parsed));
  OMNI_ASSIGN_OR_RETURN(int64_t customers, r.Int("customers"));
  OMNI_ASSIGN_OR_RETURN(int64_t items, r.Int("items"));
  OMNI_ASSIGN_OR_RETURN(int64_t k, r.Int("factors"));
  OMNI_ASSIGN_OR_RETURN(std::vector<float> xf, r.Floats("customer_factors"));
  OMNI_ASSIGN_OR_RETURN(std::vector<float> yf, r.Floats("item_factors"));
  OMNI_ASSIGN_OR_RETURN(std::vector<int64_t> fingerprints, r.Int64s("row_fingerprints"));
  if (customers < 0 || customers > INT32_MAX || items <= 0 || items > INT32_MAX || k != o.factors ||
      xf.size() != static_cast<size_t>(customers * k) || yf.size() != static_cast<size_t>(items * k) ||
      fingerprints.size() != static_cast<size_t>(customers)) {
    return InvalidArgument("als: " + path + " is corrupt (dimensions disagree)");
  }
  auto x = std::make_unique<Factors>(static_cast<int32_t>(customers), o.factors);
  auto y = std::make_unique<Factors>(static_cast<int32_t>(items), o.factors);
  for (int64_t i = 0; i < customers; ++i) std::memcpy(x->Row(i), xf.data() + i * k, k * sizeof(float));
  for (int64_t i = 0; i < items; ++i) std::memcpy(y->Row(i), yf.data() + i * k, k * sizeof(float));
  options_ = o;
  customers_ = static_cast<int32_t>(customers);
  items_ = static_cast<int32_t>(items);
  x_ = std::move(x);
  y_ = std::move(y);
  row_fingerprints_.resize(customers);
  for (int64_t i = 0; i < customers; ++i) row_fingerprints_[i] = std::bit_cast<uint64_t>(fingerprints[i]);
  item_gram_ = Gram(y_->data, items_, o.factors, y_->stride, o.reg, o.threads);
  BuildServingFactors();
  return Status::Ok();
}

}  // namespace omni::recommend
