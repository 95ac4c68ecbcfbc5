#pragma once
// Host launchers of the beam search kernels (beam_search.cu): one step of a batch of requests'
// beam searches on the device, the search's order and rules those of the host's
// (src/api/beam_search.cpp), so that the same logits give the same hypotheses. A step reads the
// live beams' logits and leaves, on the device, each request's next live beams (their tokens
// are the next step's input; gather_state_rows gives each its parent's state), a trace of the
// choices, and the hypotheses that ended.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/stop_automaton.cuh"

namespace genrnn::kernels {

// One request: its beams are rows first_row .. first_row + width - 1 of the batch.
struct BeamRequestShape {
  int first_row;
  int width;
  int best;    // hypotheses it returns: a step keeps no more ended ones than this
  int length;  // its hypotheses end after `length` tokens
  // Its stop text's automaton (stop.length 0: none); its token_flags are the search's.
  math::StopAutomaton stop;
  std::size_t first_finished;  // its ended hypotheses are finished[first_finished ..], length x best of them
};

// An extension of a live beam (its index within its request) by a token.
struct BeamCandidate {
  double logprob;  // the hypothesis's log-probability with the token
  int beam;
  int token;
};

// A hypothesis that ended at `step` (its last token chosen then), as the extension of `beam`.
struct BeamEnded {
  double logprob;
  int step;
  int beam;
  int token;
};

// The search's device memory, [rows] arrays per row of the batch. Candidates are ordered by
// log-probability, descending, then by beam, then by token: a total order, as the host's.
struct BeamSearchState {
  const BeamRequestShape* requests;  // [request]
  const int* row_request;            // [rows]: the request a row belongs to
  int rows;
  int max_width;  // the widest request's width
  int max_best;
  int* step;        // the step now searched, from 0
  int* live_count;  // [request]: its live beams, rows first_row ..
  double* logprob;  // a live beam's log-probability
  int* stop_state;  // its stop automaton's state (0 without a stop text)
  int* token;       // its last token, the next step's input (the prompt's last one at first)
  // Row r's state comes from row gather_from[r] for the next step (r itself where not live).
  int* gather_from;
  // Each row's best extensions, in the order, [rows][max_width]: those that keep the hypothesis
  // going, and (up to the request's best) those that end it.
  BeamCandidate* continuing;
  int* continuing_count;
  BeamCandidate* ending;  // [rows][max_best]
  int* ending_count;
  // The trace: at step t, live beam k of the request starting at row f came from beam
  // trace_parent[t * rows + f + k] by trace_token[...].
  int* trace_parent;
  int* trace_token;
  BeamEnded* finished;  // per request from its first_finished, in the order found
  int* finished_count;  // [request]
  // Scratch: the chosen beams' values, until every parent has been read.
  double* next_logprob;
  int* next_stop_state;
};

// Step 1: for every live row, the log-softmax of its logits ([rows][vocab]) added to its beam's
// log-probability, and the row's best extensions in `continuing` and `ending` (at a request's
// last step every extension ends it).
void beam_rank_rows(const float* logits, int vocab, const BeamSearchState& search, cudaStream_t stream);

// Step 2, one block per request: the `width` best continuing extensions over its rows become
// its live beams (traced, their next tokens and values set, gather_from their parents), and the
// best `best` ending extensions that rank above the width-th continuing one are appended to
// `finished` (a hypothesis that ranks lower would have been cut from the beam). Then the step
// counter advances.
void beam_select(int requests, const BeamSearchState& search, cudaStream_t stream);

// The recurrent state's rows, [layers][rows][width], gathered: to[l][r] = from[l][gather_from[r]].
void gather_state_rows(const float* from, const int* gather_from, int layers, int rows, int width, float* to,
                       cudaStream_t stream);

}  // namespace genrnn::kernels
