// NCCL's reducer in one process (a real GPU only: the host executor serves no NCCL): it starts,
// averages a buffer on a stream (over one process: the buffer as it was), and serves as a
// training step's reducer with the step unchanged. Runs of several processes are
// tests/parallel's, on CPUs; on GPUs they wait for a machine with two.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "engine/engine_registry.hpp"
#include "parallel/nccl_reducer.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

std::unique_ptr<GradientReducer> one_process_reducer() {
  return make_nccl_reducer(0, 0, 1, [](void*, std::size_t) {});  // rank 0 of 1: nothing to hand over
}

TEST(Nccl, OneProcessAveragesABufferOnAStream) {
  GENRNN_REQUIRE_GPU();
  if (testing::on_host_executor()) GTEST_SKIP() << "the host executor serves no NCCL";
  const std::vector<float> values = testing::random_uniform<float>(100003, -1.0f, 1.0f);
  float* device = nullptr;
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&device), values.size() * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device, values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  one_process_reducer()->average({device, values.size(), 0, stream});
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  std::vector<float> back(values.size());
  ASSERT_EQ(cudaMemcpy(back.data(), device, back.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(back, values);
  cudaStreamDestroy(stream);
  cudaFree(device);
}

TEST(Nccl, ATrainingStepThroughOneProcessReducerIsTheStepWithout) {
  GENRNN_REQUIRE_GPU();
  if (testing::on_host_executor()) GTEST_SKIP() << "the host executor serves no NCCL";
  const ModelConfig config{CellType::lstm, 2, 16, 8, 13, TokenizerKind::character};
  auto plain = make_training_engine("fused", config), reduced = make_training_engine("fused", config);
  const auto weights = testing::random_uniform<float>(parameter_count(config), -0.3f, 0.3f);
  for (TrainingEngine* engine : {plain.get(), reduced.get()}) {
    engine->set_parameters(weights);
    engine->set_state({4, {}, {}});
  }
  const auto reducer = one_process_reducer();
  for (int step = 0; step < 3; ++step) {
    const TokenWindow window{4, 6, testing::random_ids(24, 13), testing::random_ids(24, 13)};
    EXPECT_EQ(*plain->train_step(window, TrainStepOptions{}),
              *reduced->train_step(window, TrainStepOptions{}, reducer.get()));
  }
  EXPECT_EQ(plain->parameters(), reduced->parameters());
}

}  // namespace
}  // namespace genrnn
