#include "cuda/cuda_graph.hpp"

#include <utility>

#include "cuda/cuda_check.hpp"
#include "genrnn/error.hpp"

namespace genrnn::cuda {

namespace {

// A captured graph, destroyed with its owner (the instantiation is all that is kept).
struct GraphGuard {
  cudaGraph_t graph = nullptr;
  ~GraphGuard() {
    if (graph) cudaGraphDestroy(graph);
  }
};

// What `work` queues on `stream`, captured.
void capture_into(GraphGuard& captured, cudaStream_t stream, const std::function<void()>& work) {
  GENRNN_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    work();
  } catch (...) {
    cudaStreamEndCapture(stream, &captured.graph);  // ends the capture; its status adds nothing
    throw;
  }
  GENRNN_CUDA_CHECK(cudaStreamEndCapture(stream, &captured.graph));
}

cudaGraphExec_t instantiate(cudaGraph_t graph) {
  cudaGraphExec_t exec = nullptr;
  GENRNN_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  return exec;
}

}  // namespace

Error capture_failure(const std::string& what, const Error& cause) {
  return Error("capturing " + what + " as a CUDA graph failed: " + cause.what() +
               " (EngineOptions::cuda_graphs = false, or GENRNN_CUDA_GRAPHS=0 for gen_cuda, runs it with plain "
               "launches)");
}

CapturedGraph CapturedGraph::capture(cudaStream_t stream, const std::function<void()>& work) {
  GraphGuard captured;
  capture_into(captured, stream, work);
  return CapturedGraph(instantiate(captured.graph));
}

bool CapturedGraph::recapture(cudaStream_t stream, const std::function<void()>& work) {
  GraphGuard captured;
  capture_into(captured, stream, work);
  cudaGraphExecUpdateResultInfo result{};
  if (cudaGraphExecUpdate(exec_, captured.graph, &result) == cudaSuccess) return true;
  cudaGetLastError();  // a refused update is answered here, by instantiating anew
  CapturedGraph fresh(instantiate(captured.graph));
  std::swap(exec_, fresh.exec_);
  return false;
}

CapturedGraph::CapturedGraph(CapturedGraph&& other) noexcept : exec_(std::exchange(other.exec_, nullptr)) {}

CapturedGraph& CapturedGraph::operator=(CapturedGraph&& other) noexcept {
  std::swap(exec_, other.exec_);
  return *this;
}

CapturedGraph::~CapturedGraph() {
  if (exec_) cudaGraphExecDestroy(exec_);
}

void CapturedGraph::replay(cudaStream_t stream) const { GENRNN_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

}  // namespace genrnn::cuda
