// The LSTM time loop of one layer and direction on the CPU, forward and backward, in C++.
//
// What rnnlab.recurrence does step by step from Python — the hidden product, then the pointwise
// work of rnnlab.kernels — done here in one call per sequence: MKL's prepacked GEMM for the
// product (the weight is packed once per call) and one OpenMP loop over the batch rows for the
// pointwise work, with no barrier inside a step: every row's gates, layer norms and gradients
// need only that row. The parameter gradients (biases, the norms' γ and β) are summed per
// thread and added up by the caller. The equations are those of rnnlab.kernels (lstm_forward,
// lstm_backward, _norm_backward); rnnlab.native compiles this file and checks it against them.
//
// Variants (bits of `flags`): IH — layer norm of the input product, HH — of the hidden product,
// CN — of the cell inside tanh, HM — variational dropout mask on h_{t-1}, MASK — lengths,
// BHH — b_hh present, IHB — β_x present, CNB — β_c present. Shapes: G = 4H gates in the order
// i, f, g, o; rows are batch entries; every tensor is contiguous float32 (the mask: bool).
#include <torch/csrc/inductor/cpp_prefix.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <omp.h>

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int64_t kV = Vec::size();

enum Flag : int64_t { IH = 1, HH = 2, CN = 4, HM = 8, MASK = 16, BHH = 32, IHB = 64, CNB = 128 };

// MKL's packed-GEMM entry points, passed in as addresses (libtorch exports them; the caller
// finds them). Enumerations as in mkl_cblas.h; MKL_INT is 32-bit (LP64).
using PackSize = size_t (*)(int identifier, int m, int n, int k);
using Pack = void (*)(int layout, int identifier, int trans, int m, int n, int k, float alpha,
                      const float* src, int ld, float* dest);
using Compute = void (*)(int layout, int transa, int transb, int m, int n, int k, const float* a,
                         int lda, const float* b, int ldb, float beta, float* c, int ldc);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112, kPacked = 151, kBMatrix = 162;

struct Gemm {
  Pack pack;
  Compute compute;
  PackSize size;
};

// The weight as MKL's packed B operand of rows × k → n products: C = A · op(W).
struct PackedWeight {
  float* data = nullptr;
  int m, n, k;
  const Gemm& gemm;
  PackedWeight(const Gemm& g, const float* w, bool transpose, int m_, int n_, int k_, int ld)
      : m(m_), n(n_), k(k_), gemm(g) {
    size_t bytes = g.size(kBMatrix, m, n, k);
    data = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    if (data == nullptr) throw std::bad_alloc();
    g.pack(kRowMajor, kBMatrix, transpose ? kTrans : kNoTrans, m, n, k, 1.0f, w, ld, data);
  }
  PackedWeight(const PackedWeight&) = delete;
  PackedWeight& operator=(const PackedWeight&) = delete;
  ~PackedWeight() { std::free(data); }
  void times(const float* a, float* c) const {  // c (m × n) = a (m × k) · W
    gemm.compute(kRowMajor, kNoTrans, kPacked, m, n, k, a, k, data, n, 0.0f, c, n);
  }
};

// f(j, count) over [0, n) in vector-sized pieces; the last may be partial.
template <typename F>
inline void each(int64_t n, F f) {
  for (int64_t j = 0; j < n; j += kV) f(j, std::min(kV, n - j));
}

inline Vec load(const float* p, int64_t count) { return Vec::loadu(p, count); }
inline void store(const Vec& v, float* p, int64_t count) { v.store(p, count); }
inline Vec zero_tail(const Vec& v, int64_t count) { return count == kV ? v : Vec::set(Vec(0.0f), v, count); }
inline float total(const Vec& v) {
  return at::vec::vec_reduce_all<float>([](Vec& x, Vec& y) { return x + y; }, v);
}
inline Vec sigmoid(const Vec& x) { return Vec(1.0f) / (Vec(1.0f) + x.neg().exp()); }
// tanh(x) = 2σ(2x) − 1: one exp (within 2e-7 of tanh), as Inductor's decomposition.
inline Vec tanh_(const Vec& x) { return Vec(2.0f) / (Vec(1.0f) + (Vec(-2.0f) * x).exp()) - Vec(1.0f); }

// μ and r = 1/√(σ² + ε) of a row, σ² the biased variance (two passes, as native_layer_norm).
inline void moments(const float* x, int64_t n, float eps, float& mean, float& rstd) {
  Vec s(0.0f);
  each(n, [&](int64_t j, int64_t k) { s += load(x + j, k); });
  mean = total(s) / n;
  Vec q(0.0f);
  each(n, [&](int64_t j, int64_t k) {
    Vec d = zero_tail(load(x + j, k) - Vec(mean), k);
    q += d * d;
  });
  rstd = 1.0f / std::sqrt(total(q) / n + eps);
}

// ∂L/∂x of y = LN(x) ⊙ γ + β given dy: r · (dŷ − mean(dŷ) − x̂ · mean(dŷ ⊙ x̂)), dŷ = dy ⊙ γ.
// Adds Σ dy ⊙ x̂ to dgamma (and Σ dy to dbeta when given); writes dx (may be dy itself).
inline void norm_backward(const float* dy, const float* x, float mean, float rstd, const float* gamma,
                          int64_t n, float* dx, float* dgamma, float* dbeta) {
  Vec s1(0.0f), s2(0.0f);
  each(n, [&](int64_t j, int64_t k) {
    Vec g = load(dy + j, k);
    Vec xh = (load(x + j, k) - Vec(mean)) * Vec(rstd);
    Vec dyh = g * load(gamma + j, k);
    s1 += zero_tail(dyh, k);
    s2 += zero_tail(dyh * xh, k);
    store(load(dgamma + j, k) + g * xh, dgamma + j, k);
    if (dbeta != nullptr) store(load(dbeta + j, k) + g, dbeta + j, k);
  });
  float m1 = total(s1) / n, m2 = total(s2) / n;
  each(n, [&](int64_t j, int64_t k) {
    Vec xh = (load(x + j, k) - Vec(mean)) * Vec(rstd);
    Vec dyh = load(dy + j, k) * load(gamma + j, k);
    store(Vec(rstd) * (dyh - Vec(m1) - xh * Vec(m2)), dx + j, k);
  });
}

inline void add_into(float* sum, const float* x, int64_t n) {
  each(n, [&](int64_t j, int64_t k) { store(load(sum + j, k) + load(x + j, k), sum + j, k); });
}

struct Params {
  const float* b_hh;  // G
  const float* hh_w;  // G
  const float* c_w;   // H
  const float* c_b;   // H
  const float* ih_w;  // G
  const float* ih_b;  // G
  const float* hmask; // B × H
  const bool* mask;   // T × B
};

// One step's pointwise forward for batch row b (see rnnlab.kernels.lstm_forward).
inline void forward_row(int64_t b, int64_t t, int64_t B, int64_t H, int64_t flags, float eps,
                        const Params& p, const float* gx, const float* gh, float* act, float* tanh_c,
                        float* stats, float* states, float* cells, float* h_run, float* h_in) {
  const int64_t G = 4 * H, row = t * B + b;
  const float* x = gx + row * G;
  const float* y = gh;  // this row of the step's hidden product
  float* a = act + row * G;
  float* st = stats + row * 6;  // μ, r of the input, hidden and cell norms
  float mx = 0, rx = 1, mh = 0, rh = 1;
  if (flags & IH) moments(x, G, eps, mx, rx);
  if (flags & HH) moments(y, G, eps, mh, rh);
  st[0] = mx, st[1] = rx, st[2] = mh, st[3] = rh;
  for (int64_t q = 0; q < 4; ++q) {  // gates i, f, g, o: tanh for g, σ for the others
    each(H, [&](int64_t j0, int64_t k) {
      int64_t j = q * H + j0;
      Vec u = load(x + j, k);
      if (flags & IH) {
        u = (u - Vec(mx)) * Vec(rx) * load(p.ih_w + j, k);
        if (flags & IHB) u = u + load(p.ih_b + j, k);
      }
      Vec v = load(y + j, k);
      if (flags & HH) v = (v - Vec(mh)) * Vec(rh) * load(p.hh_w + j, k);
      if (flags & BHH) v = v + load(p.b_hh + j, k);
      store(q == 2 ? tanh_(u + v) : sigmoid(u + v), a + j, k);
    });
  }
  const float* c_prev = cells + t * B * H + b * H;
  float* c_next = cells + (t + 1) * B * H + b * H;
  float* tc = tanh_c + row * H;
  const bool inside = !(flags & MASK) || p.mask[row];
  // C_t = f ⊙ C_{t−1} + i ⊙ g, written where the carried state goes (a padded row puts C_{t−1} back below)
  each(H, [&](int64_t j, int64_t k) {
    store(load(a + H + j, k) * load(c_prev + j, k) + load(a + j, k) * load(a + 2 * H + j, k), c_next + j, k);
  });
  float mc = 0, rc = 1;
  if (flags & CN) moments(c_next, H, eps, mc, rc);
  st[4] = mc, st[5] = rc;
  float* out = states + (t + 1) * B * H + b * H;
  float* hr = h_run + b * H;
  float* hi = h_in + b * H;
  each(H, [&](int64_t j, int64_t k) {
    Vec c = load(c_next + j, k);
    if (flags & CN) {
      c = (c - Vec(mc)) * Vec(rc) * load(p.c_w + j, k);
      if (flags & CNB) c = c + load(p.c_b + j, k);
    }
    Vec t_c = tanh_(c);
    store(t_c, tc + j, k);
    Vec h = load(a + 3 * H + j, k) * t_c;
    if (inside) {
      store(h, out + j, k);
      store(h, hr + j, k);
    } else {  // past the end: output 0, state carried
      store(Vec(0.0f), out + j, k);
      h = load(hr + j, k);
      store(load(c_prev + j, k), c_next + j, k);
    }
    if (flags & HM) h = h * load(p.hmask + b * H + j, k);
    store(h, hi + j, k);
  });
}

// One step's pointwise backward for batch row b (see rnnlab.kernels.lstm_backward): da in
// `scratch`, then ∂L/∂(x W_ihᵀ) into d_gx and ∂L/∂gh_raw into d_raw; carries dc and dh_keep.
inline void backward_row(int64_t b, int64_t t, int64_t B, int64_t H, int64_t flags, bool need_bias,
                         bool need_ih_bias, const Params& p, const float* gx, const float* gh_all,
                         const float* act, const float* tanh_c, const float* stats, const float* cells,
                         const float* dout, const float* dh_mm, float* dh_keep, float* dc, float* d_gx,
                         float* d_raw, float* scratch, float* sums) {
  const int64_t G = 4 * H, row = t * B + b;
  const float* a = act + row * G;
  const float* tc = tanh_c + row * H;
  const float* st = stats + row * 6;
  const float* c_prev = cells + t * B * H + b * H;
  const float* c_new = cells + (t + 1) * B * H + b * H;  // C_t where the row is inside its sequence
  const float* dout_r = dout + row * H;
  const float* dm = dh_mm + b * H;
  float* keep = dh_keep + b * H;
  float* dcr = dc + b * H;
  const bool inside = !(flags & MASK) || p.mask[row];
  // sums: ∂b_hh (G), ∂γ_h (G), ∂γ_x (G), ∂b_ih (G), ∂γ_c (H), ∂β_c (H)
  float *s_bhh = sums, *s_hh = sums + G, *s_ih = sums + 2 * G, *s_bih = sums + 3 * G;
  float *s_cw = sums + 4 * G, *s_cb = sums + 4 * G + H;
  float* da = scratch;          // G
  float* d_tanh = scratch + G;  // H
  if (!inside) {  // the whole of ∂L/∂h_t passes to h_{t−1}; ∂L/∂C_t is carried unchanged
    each(H, [&](int64_t j, int64_t k) {
      Vec m = load(dm + j, k);
      if (flags & HM) m = m * load(p.hmask + b * H + j, k);
      store(m + load(keep + j, k), keep + j, k);
    });
    each(G, [&](int64_t j, int64_t k) { store(Vec(0.0f), d_gx + row * G + j, k); });
    if (d_raw != d_gx) each(G, [&](int64_t j, int64_t k) { store(Vec(0.0f), d_raw + row * G + j, k); });
    return;
  }
  // ∂L/∂h_new = dh_mm ⊙ m_hidden + dh_keep + dout; δ through tanh
  each(H, [&](int64_t j, int64_t k) {
    Vec m = load(dm + j, k);
    if (flags & HM) m = m * load(p.hmask + b * H + j, k);
    Vec d_new = m + load(keep + j, k) + load(dout_r + j, k);
    Vec t_c = load(tc + j, k);
    store(d_new, da + 3 * H + j, k);  // ∂L/∂h_new parked in the o slot until used below
    store(d_new * load(a + 3 * H + j, k) * (Vec(1.0f) - t_c * t_c), d_tanh + j, k);
    store(Vec(0.0f), keep + j, k);
  });
  if (flags & CN) {  // δC through the cell norm, added to the carried ∂L/∂C_t
    norm_backward(d_tanh, c_new, st[4], st[5], p.c_w, H, d_tanh, s_cw, (flags & CNB) ? s_cb : nullptr);
  }
  each(H, [&](int64_t j, int64_t k) {
    Vec dct = load(dcr + j, k) + load(d_tanh + j, k);
    Vec i = load(a + j, k), f = load(a + H + j, k), g = load(a + 2 * H + j, k), o = load(a + 3 * H + j, k);
    Vec d_new = load(da + 3 * H + j, k);
    store(dct * g * i * (Vec(1.0f) - i), da + j, k);
    store(dct * load(c_prev + j, k) * f * (Vec(1.0f) - f), da + H + j, k);
    store(dct * i * (Vec(1.0f) - g * g), da + 2 * H + j, k);
    store(d_new * load(tc + j, k) * o * (Vec(1.0f) - o), da + 3 * H + j, k);
    store(dct * f, dcr + j, k);
  });
  if (need_bias) add_into(s_bhh, da, G);
  float* raw = d_raw + row * G;
  if (flags & HH) {
    norm_backward(da, gh_all + row * G, st[2], st[3], p.hh_w, G, raw, s_hh, nullptr);
  } else if (d_raw != d_gx) {
    std::copy(da, da + G, raw);
  }
  float* dx = d_gx + row * G;
  if (flags & IH) {
    norm_backward(da, gx + row * G, st[0], st[1], p.ih_w, G, dx, s_ih, need_ih_bias ? s_bih : nullptr);
  } else {
    std::copy(da, da + G, dx);  // without norms ∂L/∂gx is da (and d_raw is this same buffer)
  }
}

void forward_loop(const float* gx, const float* w_hh, const Params& p, float* states, float* cells,
                  float* h_run, float* h_in, float* gh, float* act, float* tanh_c, float* stats, int64_t T,
                  int64_t B, int64_t H, int64_t flags, float eps, int64_t threads, const Gemm& gemm) {
  const int64_t G = 4 * H;
  PackedWeight w(gemm, w_hh, true, B, G, H, H);  // gh_raw = h_in · W_hhᵀ
  for (int64_t t = 0; t < T; ++t) {
    float* gh_t = gh + ((flags & HH) ? t * B * G : 0);  // kept for the backward only when normalised
    w.times(h_in, gh_t);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      forward_row(b, t, B, H, flags, eps, p, gx, gh_t + b * G, act, tanh_c, stats, states, cells, h_run, h_in);
    }
  }
}

void backward_loop(const float* gx, const float* w_hh, const Params& p, const float* gh, const float* act,
                   const float* tanh_c, const float* stats, const float* cells, const float* d_out,
                   float* dh_mm, float* dh_keep, float* dc, float* d_gx, float* d_raw, float* scratch,
                   float* sums, int64_t T, int64_t B, int64_t H, int64_t flags, int64_t need_bias,
                   int64_t need_ih_bias, int64_t threads, const Gemm& gemm) {
  const int64_t G = 4 * H, S = 4 * G + 2 * H;
  PackedWeight w(gemm, w_hh, false, B, H, G, H);  // dh_mm = ∂L/∂gh_raw · W_hh
  for (int64_t t = T - 1; t >= 0; --t) {
#pragma omp parallel num_threads(threads)
    {
      const int tid = omp_get_thread_num();
#pragma omp for schedule(static)
      for (int64_t b = 0; b < B; ++b) {
        backward_row(b, t, B, H, flags, need_bias != 0, need_ih_bias != 0, p, gx, gh, act, tanh_c, stats,
                     cells, d_out, dh_mm, dh_keep, dc, d_gx, d_raw, scratch + tid * (G + H), sums + tid * S);
      }
    }
    w.times(d_raw + t * B * G, dh_mm);
  }
}

Gemm gemm_from(uintptr_t size, uintptr_t pack, uintptr_t compute) {
  return Gemm{reinterpret_cast<Pack>(pack), reinterpret_cast<Compute>(compute), reinterpret_cast<PackSize>(size)};
}

}  // namespace

#ifdef RNNLAB_LSTM_FORWARD
extern "C" void kernel(const float* gx, const float* w_hh, const float* b_hh, const float* hh_w,
                       const float* c_w, const float* c_b, const float* ih_w, const float* ih_b,
                       const float* hmask, const bool* mask, float* states, float* cells, float* h_run,
                       float* h_in, float* gh, float* act, float* tanh_c, float* stats, int64_t T, int64_t B,
                       int64_t H, int64_t flags, float eps, int64_t threads, uintptr_t pack_size,
                       uintptr_t pack, uintptr_t compute) {
  Params p{b_hh, hh_w, c_w, c_b, ih_w, ih_b, hmask, mask};
  forward_loop(gx, w_hh, p, states, cells, h_run, h_in, gh, act, tanh_c, stats, T, B, H, flags, eps, threads,
               gemm_from(pack_size, pack, compute));
}
#else
extern "C" void kernel(const float* gx, const float* w_hh, const float* hh_w, const float* c_w,
                       const float* ih_w, const float* hmask, const bool* mask, const float* gh,
                       const float* act, const float* tanh_c, const float* stats, const float* cells,
                       const float* d_out, float* dh_mm, float* dh_keep, float* dc, float* d_gx, float* d_raw,
                       float* scratch, float* sums, int64_t T, int64_t B, int64_t H, int64_t flags,
                       int64_t need_bias, int64_t need_ih_bias, int64_t threads, uintptr_t pack_size,
                       uintptr_t pack, uintptr_t compute) {
  Params p{nullptr, hh_w, c_w, nullptr, ih_w, nullptr, hmask, mask};
  backward_loop(gx, w_hh, p, gh, act, tanh_c, stats, cells, d_out, dh_mm, dh_keep, dc, d_gx, d_raw, scratch,
                sums, T, B, H, flags, need_bias, need_ih_bias, threads, gemm_from(pack_size, pack, compute));
}
#endif
