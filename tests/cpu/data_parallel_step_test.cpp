// The data-parallel step on the CPU engine: two halves of a batch, their gradients averaged
// between backward and the update, train to the weights of the whole batch, dropout included
// (masks keyed by the stream's place in the whole batch).
#include <gtest/gtest.h>

#include "engine/engine_registry.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/split_batch.hpp"

namespace genrnn {
namespace {

void average_on_host(const GradientBuffer& a, const GradientBuffer& b) {
  ASSERT_EQ(a.count, b.count);
  ASSERT_EQ(a.gpu, -1);
  for (std::size_t i = 0; i < a.count; ++i) a.data[i] = b.data[i] = (a.data[i] + b.data[i]) / 2;
}

class DataParallelStep : public ::testing::TestWithParam<CellType> {};

TEST_P(DataParallelStep, TwoHalvesTrainToTheWholeBatchsWeights) {
  const ModelConfig config{GetParam(), 2, 8, 5, 11, TokenizerKind::character};
  for (float dropout : {0.0f, 0.4f}) {
    SCOPED_TRACE("dropout " + std::to_string(dropout));
    const auto run = testing::train_whole_and_split([&] { return make_training_engine("cpu", config); }, 6, 7, 5,
                                                    dropout, average_on_host);
    for (std::size_t step = 0; step < run.whole_losses.size(); ++step)
      EXPECT_NEAR(run.split_losses[step], run.whole_losses[step], 1e-5 * run.whole_losses[step]) << "step " << step;
    EXPECT_EQ(run.first_half, run.second_half);  // one mean, one update
    EXPECT_LT(testing::max_relative_error(run.first_half, run.whole), 1e-4);
  }
}

// Dropout keyed by the whole batch: without it (streams left empty), the halves would draw the
// same masks for their first streams and the weights would part.
TEST(DataParallelStep, MasksFollowTheStreamsPlaceInTheWholeBatch) {
  TrainStepOptions options;
  options.dropout = 0.5f;
  options.dropout_seed = 3;
  options.streams = {2, 2, 6};
  const math::DropoutMask slice = options.dropout_mask(4, 8);
  const math::DropoutMask whole{0.5f, 3, 4};
  for (uint64_t t = 0; t < 3; ++t)
    for (uint64_t b = 0; b < 2; ++b)
      for (uint64_t j = 0; j < 8; ++j)
        EXPECT_EQ(math::dropout_scale(slice, 1, (t * 2 + b) * 8 + j),
                  math::dropout_scale(whole, 1, (t * 6 + 2 + b) * 8 + j));
}

INSTANTIATE_TEST_SUITE_P(Cells, DataParallelStep, ::testing::ValuesIn(testing::every_cell()), testing::CellName{});

}  // namespace
}  // namespace genrnn
