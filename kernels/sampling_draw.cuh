#pragma once
// The sampler's draw for one stream, by one block: the definition in include/genrnn/sampling.hpp,
// so it picks the CPU sampler's token. Nothing is sorted: the kept ids (a prefix of the ids
// ordered by weight) are found by bisection over the logits' order, and the draw by a block
// scan over the ids in order, as the CPU walks them. The sampling kernel (sampling.cu) and the
// persistent decoder (persistent_decoder.cu) both draw with it.
#include <cstddef>
#include <cstdint>

#include "kernels/block_reduce.cuh"
#include "kernels/philox.cuh"
#include "kernels/sampling_ops.hpp"

namespace genrnn::kernels::sampling {

constexpr int kMaxThreads = 1024;
// Consecutive ids one thread adds up in an in-order scan: fewer chunks, so fewer barriers.
constexpr int kRun = 8;

// The block's reductions and scans, one area per value type.
struct Shared {
  double sums[32];
  int ids[32];
  float maxima[32];
};

// Order-preserving key of a logit: a larger logit has a larger key, and equal logits have equal
// keys (+ 0.0f turns -0 into +0). NaN is keyed as -inf (both weigh 0), so every key decodes to a
// logit.
__device__ inline uint32_t logit_key(float logit) {
  const uint32_t bits = __float_as_uint(isnan(logit) ? -INFINITY : logit + 0.0f);
  return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}
__device__ inline float logit_of_key(uint32_t key) {
  return __uint_as_float(key & 0x80000000u ? key & 0x7fffffffu : ~key);
}

// One stream's logits and their weights w_v = exp((l_v - max) / T) in double, 0 for NaN. The
// weight never decreases as the logit (its key) grows.
struct Row {
  const float* logits;
  int vocab;
  float max;
  double temperature;
  __device__ double weight_of_logit(float logit) const {
    return isnan(logit) ? 0.0 : exp((double(logit) - double(max)) / temperature);
  }
  __device__ double weight(int v) const { return weight_of_logit(logits[v]); }
  __device__ uint32_t key(int v) const { return logit_key(logits[v]); }
};

// A prefix of the ids ordered by weight descending, then id ascending: the ids heavier than
// `weight`, and those of exactly `weight` up to id `last_tie`.
struct Cut {
  double weight;
  int last_tie;
  __device__ bool keeps(int v, double w) const { return w > weight || (w == weight && v <= last_tie); }
};

// The sum over the ids of value_of(v): each thread adds its ids in order, then block_reduce.
template <class ValueOf>
__device__ double block_sum(int vocab, ValueOf value_of, Shared& shared) {
  double sum = 0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) sum += value_of(v);
  return block_reduce(sum, SumOp{}, shared.sums);
}

// The first id at which the running sum of value_of(0), value_of(1), ... makes `reached` true,
// looking only at ids of positive value (reached must be monotone); -1 if there is none. Chunks
// of kRun * blockDim.x ids: each thread adds a run of kRun consecutive ids, a block scan gives
// every run its start, and each run re-adds its values one by one: the CPU's sequential walk,
// up to rounding.
template <class ValueOf, class Reached>
__device__ int first_id_reaching(int vocab, ValueOf value_of, Reached reached, Shared& shared) {
  double chunk_start = 0;
  for (int chunk = 0; chunk < vocab; chunk += kRun * blockDim.x) {
    const int first = chunk + kRun * threadIdx.x;
    double values[kRun], run_sum = 0;
#pragma unroll
    for (int j = 0; j < kRun; ++j) {
      values[j] = first + j < vocab ? value_of(first + j) : 0.0;
      run_sum += values[j];
    }
    double chunk_sum;
    double running = chunk_start + block_exclusive_sum(run_sum, shared.sums, chunk_sum);
    int found = vocab;
#pragma unroll
    for (int j = 0; j < kRun; ++j) {
      running += values[j];
      if (found == vocab && values[j] > 0 && reached(running)) found = first + j;
    }
    found = block_reduce(found, IntMinOp{}, shared.ids);
    if (found < vocab) return found;
    chunk_start += chunk_sum;
  }
  return -1;
}

// The largest key t such that the ids keyed t or more have a measure (the sum of measure_of)
// of at least `target`; the lowest key if there is none. Bisection over the keys up to the
// max's; measure_of runs only for the ids inside the interval still open, since the measure of
// those above it is carried along.
template <class MeasureOf>
__device__ uint32_t largest_key_reaching(const Row& row, double target, MeasureOf measure_of, Shared& shared) {
  uint32_t low = logit_key(-INFINITY), high = logit_key(row.max);
  double above = 0;  // the measure of the ids keyed above `high`
  while (low < high) {
    const uint32_t middle = low + (high - low + 1) / 2;
    const double part = block_sum(
        row.vocab,
        [&](int v) {
          const uint32_t key = row.key(v);
          return key >= middle && key <= high ? measure_of(v) : 0.0;
        },
        shared);
    if (above + part >= target) {
      low = middle;
    } else {
      above += part;
      high = middle - 1;
    }
  }
  return low;
}

// The shortest prefix of the order whose measure reaches `target`, the measure of id v being
// measure_of(v, w_v) >= 0. Its last weight is that of the largest key reaching the target (the
// weight is monotone in the key); the ids heavier than that count in full, then the ids of that
// very weight join in id order until the target is reached (all of them if rounding leaves it
// short).
template <class MeasureOf>
__device__ Cut shortest_prefix_reaching(const Row& row, double target, MeasureOf measure_of, Shared& shared) {
  const uint32_t key = largest_key_reaching(
      row, target, [&](int v) { return measure_of(v, row.weight(v)); }, shared);
  const double weight = row.weight_of_logit(logit_of_key(key));
  const double heavier = block_sum(
      row.vocab,
      [&](int v) {
        if (row.key(v) <= key) return 0.0;  // keyed at most `key`: weighs at most `weight`
        const double w = row.weight(v);
        return w > weight ? measure_of(v, w) : 0.0;
      },
      shared);
  const int last_tie = first_id_reaching(
      row.vocab,
      [&](int v) {
        const double w = row.weight(v);
        return w == weight ? measure_of(v, w) : 0.0;
      },
      [&](double ties) { return heavier + ties >= target; }, shared);
  return {weight, last_tie >= 0 ? last_tie : row.vocab - 1};
}

// The token stream (seed, stream) draws at `step` from its `vocab` logits. Every thread of the
// block calls it (blockDim.x a multiple of 32, at most kMaxThreads) and every thread gets the id.
// Every pass recomputes the weights from the logits rather than keeping vocab doubles per stream
// in scratch memory.
__device__ inline int draw_token(const float* row_logits, int vocab, const SamplingOptions& params, uint64_t seed,
                                 uint64_t stream, uint64_t step, Shared& shared) {
  float max = -INFINITY;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) max = fmaxf(max, row_logits[v]);  // skips NaN
  max = block_reduce(max, MaxOp{}, shared.maxima);
  if (params.temperature == 0 || !isfinite(max)) {
    // The argmax, lowest id first: NaN never equals the max, and a row of NaN gives id 0.
    int first = vocab;
    for (int v = threadIdx.x; v < vocab && first == vocab; v += blockDim.x)
      if (row_logits[v] == max) first = v;
    first = block_reduce(first, IntMinOp{}, shared.ids);
    return first < vocab ? first : 0;
  }

  const Row row{row_logits, vocab, max, double(params.temperature)};
  Cut top_k{0.0, vocab - 1}, top_p{0.0, vocab - 1};  // keep every id
  if (params.top_k > 0 && params.top_k < vocab)
    top_k = shortest_prefix_reaching(
        row, params.top_k, [](int, double) { return 1.0; }, shared);
  if (params.top_p < 1) {
    const auto kept_by_top_k = [&](int v, double w) { return top_k.keeps(v, w) ? w : 0.0; };
    const double nucleus =
        double(params.top_p) * block_sum(
                                   vocab, [&](int v) { return kept_by_top_k(v, row.weight(v)); }, shared);
    top_p = shortest_prefix_reaching(row, nucleus, kept_by_top_k, shared);
  }
  const auto kept_weight = [&](int v) {
    const double w = row.weight(v);
    return top_k.keeps(v, w) && top_p.keeps(v, w) ? w : 0.0;
  };

  // The total, and the last id of positive weight: the answer if rounding leaves the target
  // past the scan's sum.
  double total = 0;
  int last_kept = 0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    const double w = kept_weight(v);
    total += w;
    if (w > 0) last_kept = v;
  }
  total = block_reduce(total, SumOp{}, shared.sums);
  last_kept = block_reduce(last_kept, IntMaxOp{}, shared.ids);
  const float u = math::uniform_from_bits(math::philox_draw(seed, stream, step).v[0]);
  const double target = double(u) * total;
  const int drawn = first_id_reaching(
      vocab, kept_weight, [&](double cumulative) { return target < cumulative; }, shared);
  return drawn >= 0 ? drawn : last_kept;
}

}  // namespace genrnn::kernels::sampling
