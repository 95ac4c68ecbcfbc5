// The beam search kernels (kernels/beam_ops.hpp). A row's block finds its best extensions by
// rounds of block-wide arg-max, each the best after the last one found in the search's total
// order (no sort, no marks); a request's block merges its rows' sorted lists by ranking each
// candidate with binary searches in the others. In double, as the host's search.
#include <climits>
#include <cmath>
#include <cstddef>

#include "kernels/beam_ops.hpp"
#include "kernels/block_reduce.cuh"

namespace genrnn::kernels {
namespace {

struct DoubleMaxOp {
  __device__ double operator()(double a, double b) const { return a > b ? a : b; }
};

// Whether candidate (logprob a, beam, token) comes before (logprob b, ...) in the search's order.
__device__ inline bool before(double a, int a_beam, int a_token, double b, int b_beam, int b_token) {
  if (a != b) return a > b;
  return a_beam != b_beam ? a_beam < b_beam : a_token < b_token;
}

// How many of a row's sorted extensions (of beam `beam`) come before `c`: a binary search.
__device__ int count_before(const BeamCandidate* list, int count, int beam, const BeamCandidate& c) {
  int low = 0, high = count;
  while (low < high) {
    const int mid = (low + high) / 2;
    if (before(list[mid].logprob, beam, list[mid].token, c.logprob, c.beam, c.token))
      low = mid + 1;
    else
      high = mid;
  }
  return low;
}

struct RowShared {
  double doubles[32];
  int ints[32];
  float floats[32];
};

// One beam's logits: its extensions' log-probabilities, and which of them end the hypothesis.
struct RowExtensions {
  const float* logits;
  int vocab;
  double beam_logprob;
  double normalizer;  // the log-softmax's
  bool all_end;
  const math::StopAutomaton* stop;  // null: none
  int stop_state, previous;

  // As the host's search computes it, so that equal inputs rank alike.
  __device__ double logprob(int v) const { return beam_logprob + (double(logits[v]) - normalizer); }
  __device__ bool ends(int v) const { return all_end || (stop && stop->next(stop_state, previous, v) == stop->length); }

  // Up to `limit` of the extensions that end the hypothesis (or that do not), best first, into
  // `out`; returns how many. Each round is the best after the previous round's.
  __device__ int best(bool ending, int limit, int beam, BeamCandidate* out, RowShared& shared) const {
    double last = INFINITY;
    int last_token = -1;
    for (int k = 0; k < limit; ++k) {
      double top = -INFINITY;
      int top_token = INT_MAX;
      for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        const double lp = logprob(v);
        if (!(lp < last || (lp == last && v > last_token))) continue;  // not after the last (NaN: never)
        if ((lp > top || (lp == top && v < top_token)) && ends(v) == ending) {
          top = lp;
          top_token = v;
        }
      }
      const double block_top = block_reduce(top, DoubleMaxOp{}, shared.doubles);
      // The least id among the threads whose best is the block's.
      const int block_token = block_reduce(top == block_top ? top_token : INT_MAX, IntMinOp{}, shared.ints);
      if (block_token == INT_MAX) return k;
      if (threadIdx.x == 0) out[k] = {block_top, beam, block_token};
      last = block_top;
      last_token = block_token;
    }
    return limit;
  }
};

__global__ void rank_row_extensions(const float* logits, int vocab, BeamSearchState search) {
  __shared__ RowShared shared;
  const int row = blockIdx.x, r = search.row_request[row];
  const BeamRequestShape& request = search.requests[r];
  if (row - request.first_row >= search.live_count[r]) return;
  const int beam = row - request.first_row;
  const float* row_logits = logits + std::size_t(row) * vocab;
  // The log-softmax's normalizer, max + log(sum exp(l - max)), as genrnn::log_normalizer.
  float largest = -INFINITY;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) largest = fmaxf(largest, row_logits[v]);
  largest = block_reduce(largest, MaxOp{}, shared.floats);
  double sum = 0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) sum += exp(double(row_logits[v]) - double(largest));
  sum = block_reduce(sum, SumOp{}, shared.doubles);
  const bool last = *search.step + 1 == request.length;
  const RowExtensions row_extensions{row_logits,
                                     vocab,
                                     search.logprob[row],
                                     double(largest) + log(sum),
                                     last,
                                     request.stop.length > 0 ? &request.stop : nullptr,
                                     search.stop_state[row],
                                     search.token[row]};
  const int continuing = last ? 0
                              : row_extensions.best(false, request.width, beam,
                                                    search.continuing + std::size_t(row) * search.max_width, shared);
  const int ending =
      last || request.stop.length > 0
          ? row_extensions.best(true, request.best, beam, search.ending + std::size_t(row) * search.max_best, shared)
          : 0;
  if (threadIdx.x == 0) {
    search.continuing_count[row] = continuing;
    search.ending_count[row] = ending;
  }
}

// A request's rows' lists of one kind: row first + i's in list + i * stride, counts[first + i].
struct RowLists {
  const BeamCandidate* list;
  const int* counts;
  int stride, first, beams;

  __device__ const BeamCandidate* of(int beam) const { return list + std::size_t(first + beam) * stride; }
  __device__ int count(int beam) const { return counts[first + beam]; }
  // How many candidates of all the rows come before `c`.
  __device__ int before_all(const BeamCandidate& c) const {
    int total = 0;
    for (int beam = 0; beam < beams; ++beam) total += count_before(of(beam), count(beam), beam, c);
    return total;
  }
};

__global__ void select_beams(BeamSearchState search) {
  __shared__ int ints[32];
  const int r = blockIdx.x;
  const BeamRequestShape& request = search.requests[r];
  const int beams = search.live_count[r];
  if (beams == 0) return;
  const int t = *search.step, first = request.first_row;
  const RowLists continuing{search.continuing, search.continuing_count, search.max_width, first, beams};
  const RowLists ending{search.ending, search.ending_count, search.max_best, first, beams};
  int candidates = 0;
  for (int beam = 0; beam < beams; ++beam) candidates += continuing.count(beam);
  const int kept = min(candidates, request.width);
  // The continuing extensions that rank among the first `width` become the live beams, each
  // at its rank. Their parents' values are read here and written after the barrier.
  for (int k = threadIdx.x; k < beams * search.max_width; k += blockDim.x) {
    const int beam = k / search.max_width, j = k % search.max_width;
    if (j >= continuing.count(beam)) continue;
    const BeamCandidate& c = continuing.of(beam)[j];
    const int rank = continuing.before_all(c);
    if (rank >= request.width) continue;
    const int parent = first + beam, row = first + rank;
    search.trace_parent[std::size_t(t) * search.rows + row] = beam;
    search.trace_token[std::size_t(t) * search.rows + row] = c.token;
    search.next_logprob[row] = c.logprob;
    search.next_stop_state[row] =
        request.stop.length > 0 ? request.stop.next(search.stop_state[parent], search.token[parent], c.token) : 0;
    search.gather_from[row] = parent;
  }
  // The ending extensions among the request's best `best` that rank above the width-th
  // continuing one: a prefix of the ending ones in the order, found by rank.
  const int found = search.finished_count[r];  // at most length x best
  int recorded = 0;
  for (int k = threadIdx.x; k < beams * search.max_best; k += blockDim.x) {
    const int beam = k / search.max_best, j = k % search.max_best;
    if (j >= ending.count(beam)) continue;
    const BeamCandidate& c = ending.of(beam)[j];
    const int rank = ending.before_all(c);
    if (rank >= request.best || continuing.before_all(c) >= request.width) continue;
    search.finished[request.first_finished + found + rank] = {c.logprob, t, beam, c.token};
    recorded = max(recorded, rank + 1);
  }
  recorded = block_reduce(recorded, IntMaxOp{}, ints);  // its barriers: every parent has been read
  for (int k = threadIdx.x; k < kept; k += blockDim.x) {
    const int row = first + k;
    search.logprob[row] = search.next_logprob[row];
    search.stop_state[row] = search.next_stop_state[row];
    search.token[row] = search.trace_token[std::size_t(t) * search.rows + row];
  }
  if (threadIdx.x == 0) {
    search.live_count[r] = t + 1 == request.length ? 0 : kept;
    search.finished_count[r] = found + recorded;
  }
}

__global__ void advance_step(int* step) { ++*step; }

__global__ void gather_rows(const float* from, const int* gather_from, int layers, int rows, int width, float* to) {
  const std::size_t n = std::size_t(layers) * rows * width;
  for (std::size_t i = grid_thread_index(); i < n; i += grid_thread_count()) {
    const std::size_t layer_row = i / width, layer = layer_row / rows;
    const int row = static_cast<int>(layer_row % rows);
    to[i] = from[(layer * rows + gather_from[row]) * width + i % width];
  }
}

}  // namespace

void beam_rank_rows(const float* logits, int vocab, const BeamSearchState& search, cudaStream_t stream) {
  require_non_negative("beam_rank_rows", {vocab, search.rows});
  if (search.rows == 0) return;
  if (vocab == 0) throw Error("kernels::beam_rank_rows: the vocabulary is empty");
  launch("rank_row_extensions", rank_row_extensions, {dim3(search.rows), dim3(row_block_threads(vocab))}, stream,
         logits, vocab, search);
}

void beam_select(int requests, const BeamSearchState& search, cudaStream_t stream) {
  require_non_negative("beam_select", {requests});
  if (requests == 0) return;
  launch("select_beams", select_beams, {dim3(requests), dim3(kThreadsPerBlock)}, stream, search);
  launch("advance_step", advance_step, {dim3(1), dim3(1)}, stream, search.step);
}

void gather_state_rows(const float* from, const int* gather_from, int layers, int rows, int width, float* to,
                       cudaStream_t stream) {
  require_non_negative("gather_state_rows", {layers, rows, width});
  const std::size_t n = std::size_t(layers) * rows * width;
  if (n == 0) return;
  launch("gather_rows", gather_rows, grid_stride_shape(n), stream, from, gather_from, layers, rows, width, to);
}

}  // namespace genrnn::kernels
