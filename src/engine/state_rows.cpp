#include "engine/state_rows.hpp"

#include <algorithm>

namespace genrnn {

namespace {

// Copies stream rows[k] of `batch` <-> stream k of rows.size(), for every layer.
template <class Copy>
void each_row(const std::vector<int>& rows, int batch, int layers, int width, Copy copy) {
  const auto w = static_cast<std::size_t>(width);
  for (int l = 0; l < layers; ++l)
    for (std::size_t k = 0; k < rows.size(); ++k)
      copy((static_cast<std::size_t>(l) * batch + static_cast<std::size_t>(rows[k])) * w,
           (static_cast<std::size_t>(l) * rows.size() + k) * w, w);
}

}  // namespace

RecurrentState rows_of(const RecurrentState& all, const std::vector<int>& rows, int layers, int width) {
  RecurrentState picked{static_cast<int>(rows.size()), {}, {}};
  for (const auto& field : {std::pair{&all.h, &picked.h}, std::pair{&all.c, &picked.c}}) {
    const std::vector<float>& from = *field.first;
    std::vector<float>& to = *field.second;
    if (from.empty()) continue;
    to.resize(static_cast<std::size_t>(layers) * rows.size() * width);
    each_row(rows, all.batch, layers, width, [&](std::size_t at, std::size_t k, std::size_t n) {
      std::copy_n(from.begin() + static_cast<std::ptrdiff_t>(at), n, to.begin() + static_cast<std::ptrdiff_t>(k));
    });
  }
  return picked;
}

void set_rows(RecurrentState& into, const std::vector<int>& rows, const RecurrentState& from, int layers, int width) {
  for (const auto& field : {std::pair{&into.h, &from.h}, std::pair{&into.c, &from.c}}) {
    std::vector<float>& to = *field.first;
    const std::vector<float>& source = *field.second;
    if (to.empty() || source.empty()) continue;
    each_row(rows, into.batch, layers, width, [&](std::size_t at, std::size_t k, std::size_t n) {
      std::copy_n(source.begin() + static_cast<std::ptrdiff_t>(k), n, to.begin() + static_cast<std::ptrdiff_t>(at));
    });
  }
}

}  // namespace genrnn
