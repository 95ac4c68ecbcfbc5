#pragma once
// Work captured from a stream as a CUDA graph, instantiated, and replayed on that stream.
#include <cuda_runtime_api.h>

#include <functional>
#include <string>

#include "genrnn/error.hpp"

namespace genrnn::cuda {

// The error for a failed capture of `what` ("a decode step"), with the cause, and how to run
// with plain launches instead.
Error capture_failure(const std::string& what, const Error& cause);

class CapturedGraph {
 public:
  // Runs `work` under stream capture and instantiates what it queued. Whatever fails (an
  // exception from `work`, ending the capture, instantiating it) ends the capture, destroys
  // what was made and throws; nothing is left behind and no earlier error is cleared.
  static CapturedGraph capture(cudaStream_t stream, const std::function<void()>& work);

  CapturedGraph(CapturedGraph&& other) noexcept;
  CapturedGraph& operator=(CapturedGraph&& other) noexcept;
  ~CapturedGraph();

  void replay(cudaStream_t stream) const;
  // Captures `work` again and makes this graph run it from now on: an update of the
  // instantiation in place (cudaGraphExecUpdate) where the new capture has the same nodes, with
  // other arguments, which costs far less than instantiating; a new instantiation where the
  // update is refused. Returns true when it was updated. Throws as capture() does.
  bool recapture(cudaStream_t stream, const std::function<void()>& work);

 private:
  explicit CapturedGraph(cudaGraphExec_t exec) : exec_(exec) {}
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace genrnn::cuda
