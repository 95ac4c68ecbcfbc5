// Rows split across the CPU threads: every row exactly once, and the softmax over the head's
// rows giving the same loss and gradients on two threads as on one.
#include "cpu/row_blocks.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "cpu/network.hpp"
#include "genrnn/threads.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn::cpu {
namespace {

using testing::max_relative_error;
using testing::random_uniform;

TEST(RowBlocks, CoverEveryRowOnce) {
  const int before = cpu_threads();
  for (const int threads : {1, 2, 3}) {
    set_cpu_threads(threads);
    for (const auto& [rows, units] :
         {std::pair<std::size_t, std::size_t>{1, 1 << 20}, {2, 1 << 20}, {7, 1 << 20}, {1000, 1 << 20}, {1000, 10}}) {
      std::vector<int> seen(rows, 0);
      std::mutex lock;
      int blocks = 0;
      for_row_blocks(rows, units, [&](std::size_t first, std::size_t last) {
        std::lock_guard<std::mutex> hold(lock);
        ++blocks;
        for (std::size_t r = first; r < last; ++r) ++seen[r];
      });
      EXPECT_EQ(seen, std::vector<int>(rows, 1)) << rows << " rows, " << threads << " threads";
      EXPECT_LE(blocks, threads);
      if (units < 4096) EXPECT_EQ(blocks, 1) << "too little work to split";
    }
  }
  set_cpu_threads(before);
}

TEST(RowBlocks, SoftmaxOnTwoThreadsGivesOneThreadsLossAndGradients) {
  ModelConfig config;
  config.num_layers = 1, config.hidden_size = 32, config.embedding_dim = 8, config.vocab_size = 500;
  const int batch = 8, seq_len = 10;  // 80 rows of 500 logits: split
  const std::vector<int> inputs = testing::random_ids(batch * seq_len, config.vocab_size);
  const std::vector<int> targets = testing::random_ids(batch * seq_len, config.vocab_size);
  std::vector<float> weights;
  const auto run = [&](int threads, double& loss) {
    set_cpu_threads(threads);
    CpuNetwork<float> network(config);
    if (weights.empty()) weights = random_uniform<float>(network.parameters().size(), -0.5f, 0.5f);
    network.parameters() = weights;
    network.set_state({batch, {}, {}});
    network.forward(inputs.data(), batch, seq_len);
    loss = network.loss(targets.data());
    network.backward(targets.data(), 1.0f / (batch * seq_len));
    return network.gradients();
  };
  const int before = cpu_threads();
  double one_loss = 0, two_loss = 0;
  const std::vector<float> one = run(1, one_loss);
  const std::vector<float> two = run(2, two_loss);
  set_cpu_threads(before);
  EXPECT_EQ(one_loss, two_loss);  // each row's terms alike, summed in the same order
  EXPECT_LT(max_relative_error(two, one), 1e-5);
}

}  // namespace
}  // namespace genrnn::cpu
