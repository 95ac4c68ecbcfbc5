#pragma once
// Streams picked out of a recurrent state and put back: the slots of continuous batching, and
// the processes' shares of a data-parallel batch. A state is layer-major, [l][stream][j].
#include <vector>

#include "genrnn/state.hpp"

namespace genrnn {

// The streams `rows` (in that order) of `all`, which holds `layers` x all.batch x `width` values
// (c empty where `all`'s is).
RecurrentState rows_of(const RecurrentState& all, const std::vector<int>& rows, int layers, int width);
// Writes `from`'s streams into streams `rows` of `into`.
void set_rows(RecurrentState& into, const std::vector<int>& rows, const RecurrentState& from, int layers, int width);

}  // namespace genrnn
