#include "parallel/stream_states.hpp"

#include <algorithm>
#include <numeric>

#include "engine/state_rows.hpp"

namespace genrnn {

namespace {

// Ranks' [layer][row] blocks, concatenated rank after rank, as [layer][rank * rows + row].
std::vector<float> join_layers(const std::vector<float>& gathered, int ranks, int layers, int rows, int width) {
  std::vector<float> out(gathered.size());
  if (gathered.empty()) return out;  // no c: a cell without one
  const std::size_t block = static_cast<std::size_t>(rows) * width;
  for (int r = 0; r < ranks; ++r)
    for (int l = 0; l < layers; ++l)
      std::copy_n(gathered.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(r) * layers + l) * block),
                  block, out.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * ranks + r) * block));
  return out;
}

}  // namespace

RecurrentState slice_of(const RecurrentState& all, const StreamSlice& slice, int layers, int width) {
  std::vector<int> rows(static_cast<std::size_t>(slice.count));
  std::iota(rows.begin(), rows.end(), slice.first);
  return rows_of(all, rows, layers, width);
}

RecurrentState gather_slices(Communicator& world, const RecurrentState& mine, int layers, int width) {
  const std::vector<float> h = world.gather(mine.h), c = world.gather(mine.c);
  if (world.rank() != 0) return {};
  const int ranks = world.size();
  return {mine.batch * ranks, join_layers(h, ranks, layers, mine.batch, width),
          join_layers(c, ranks, layers, mine.batch, width)};
}

}  // namespace genrnn
