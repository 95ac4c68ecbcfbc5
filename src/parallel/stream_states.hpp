#pragma once
// The carried state of a data-parallel run's streams: each process holds its slice of the
// batch; a checkpoint holds them all, so that a run resumes on any number of processes.
#include "core/corpus_batches.hpp"
#include "genrnn/state.hpp"
#include "parallel/communicator.hpp"

namespace genrnn {

// The streams of `slice` from a state of all the batch's streams (`layers` x total x `width`).
RecurrentState slice_of(const RecurrentState& all, const StreamSlice& slice, int layers, int width);
// Every process's slice (equal slices, in rank order), joined into the whole batch's state on
// rank 0; an empty state elsewhere. Every process calls it.
RecurrentState gather_slices(Communicator& world, const RecurrentState& mine, int layers, int width);

}  // namespace genrnn
