#include "parallel/stream_states.hpp"

#include <numeric>

#include "engine/state_rows.hpp"

namespace genrnn {

namespace {

std::vector<int> rows_of_slice(const StreamSlice& slice) {
  std::vector<int> rows(static_cast<std::size_t>(slice.count));
  std::iota(rows.begin(), rows.end(), slice.first);
  return rows;
}

}  // namespace

RecurrentState slice_of(const RecurrentState& all, const StreamSlice& slice, int layers, int width) {
  return rows_of(all, rows_of_slice(slice), layers, width);
}

RecurrentState gather_slices(Communicator& world, const RecurrentState& mine, int layers, int width) {
  const std::vector<float> h = world.gather(mine.h), c = world.gather(mine.c);
  if (world.rank() != 0) return {};
  const int ranks = world.size(), batch = mine.batch;
  RecurrentState all{batch * ranks, std::vector<float>(h.size()), std::vector<float>(c.size())};
  // Process r's values, as gathered.
  const auto part = [&](const std::vector<float>& values, int r) {
    const std::size_t n = values.size() / static_cast<std::size_t>(ranks);
    return std::vector<float>(values.begin() + static_cast<std::ptrdiff_t>(r * n),
                              values.begin() + static_cast<std::ptrdiff_t>((r + 1) * n));
  };
  for (int r = 0; r < ranks; ++r)
    set_rows(all, rows_of_slice({r * batch, batch, batch * ranks}), {batch, part(h, r), part(c, r)}, layers, width);
  return all;
}

}  // namespace genrnn
