// The host SIMT executor's CUDA runtime: device and pinned memory, copies and sets, streams
// whose work is queued and runs only when the host waits for it (so a missing wait shows, as on
// a GPU), events, stream capture into graphs that replay, launches, errors and one device.
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "executor.hpp"

namespace genrnn::simt {
namespace {

using Operation = std::function<void()>;

// A captured operation, and the kernel it launches (null for other work): a graph's kernels
// must stay the same for an update (cudaGraphExecUpdate) to take.
struct Node {
  Operation operation;
  const void* kernel = nullptr;
};

struct Graph {
  std::vector<Node> nodes;
};

struct Stream {
  int device = 0;  // current when it was created
  std::deque<Operation> queue;
  std::unique_ptr<Graph> capture;  // while capturing
  bool invalidated = false;        // the capture met a call it cannot hold
};

struct Event {
  int device = 0;            // current when it was created
  Stream* stream = nullptr;  // of its last record
  bool completed = true;     // never recorded counts as completed, as in CUDA
  bool timing = true;
  double milliseconds = 0;  // when it completed
};

cudaError_t last_error = cudaSuccess;

// The devices the executor presents: two of an H100's shape, for what launches may ask, so that
// code choosing a GPU (and giving the caller's back) meets a second one.
constexpr int kDevices = 2;
constexpr int kMultiprocessors = 132;
constexpr unsigned kThreadsPerMultiprocessor = 2048, kBlocksPerMultiprocessor = 32;
constexpr std::size_t kSharedPerMultiprocessor = 228 * 1024, kSharedReservedPerBlock = 1024;
// Static plus dynamic shared memory a block may have, and with the kernel's opt-in.
constexpr std::size_t kSharedPerBlock = 48 * 1024, kMostSharedPerBlock = 227 * 1024;

thread_local int current_device = 0;
int resident_multiprocessors = kMultiprocessors;  // set_resident_multiprocessors

// Raised limits of dynamic shared memory, by kernel (cudaFuncSetAttribute).
std::map<const void*, std::size_t>& dynamic_shared_limits() {
  static std::map<const void*, std::size_t> limits;
  return limits;
}

// The dynamic shared memory a launch of `kernel` may ask for: what is left of a block's 48 KiB
// beside its static shared memory, unless the kernel's limit was raised.
std::size_t dynamic_shared_limit(const void* kernel) {
  const auto raised = dynamic_shared_limits().find(kernel);
  if (raised != dynamic_shared_limits().end()) return raised->second;
  return kSharedPerBlock - std::min(kSharedPerBlock, static_shared_bytes());
}

// How many blocks of `threads` threads and `dynamic` bytes of dynamic shared memory one
// multiprocessor holds at once (registers are not modelled).
int blocks_per_multiprocessor(unsigned threads, std::size_t dynamic) {
  const std::size_t shared = static_shared_bytes() + dynamic + kSharedReservedPerBlock;
  return int(std::min<std::size_t>(
      {kThreadsPerMultiprocessor / threads, kBlocksPerMultiprocessor, kSharedPerMultiprocessor / shared}));
}

cudaError_t note(cudaError_t error) {
  if (error != cudaSuccess) last_error = error;
  return error;
}

double now_milliseconds() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace
}  // namespace genrnn::simt

struct CUstream_st {
  genrnn::simt::Stream stream;
};
struct CUevent_st {
  genrnn::simt::Event event;
};
struct CUgraph_st {
  genrnn::simt::Graph graph;
};
struct CUgraphExec_st {
  genrnn::simt::Graph graph;
};

namespace genrnn::simt {
namespace {

// The legacy default stream (nullptr) and every stream created.
std::set<Stream*>& streams() {
  static std::set<Stream*> all;
  return all;
}

Stream& stream_of(cudaStream_t stream) {
  static CUstream_st legacy;
  return stream ? stream->stream : legacy.stream;
}

bool capturing() {
  if (stream_of(nullptr).capture) return true;
  for (Stream* s : streams())
    if (s->capture) return true;
  return false;
}

// A synchronizing call while a capture runs: not allowed (cudaStreamCaptureModeThreadLocal),
// and it spoils the capture.
cudaError_t refuse_during_capture() {
  stream_of(nullptr).invalidated = stream_of(nullptr).capture != nullptr;
  for (Stream* s : streams())
    if (s->capture) s->invalidated = true;
  return note(cudaErrorStreamCaptureUnsupported);
}

void drain(Stream& stream) {
  while (!stream.queue.empty()) {
    Operation operation = std::move(stream.queue.front());
    stream.queue.pop_front();
    operation();
  }
}

void drain_all() {
  drain(stream_of(nullptr));
  for (Stream* s : streams()) drain(*s);
}

// Where a host pointer of a copy lives, and its bounds if the executor owns it.
void require_range(const void* address, std::size_t bytes, const char* what) {
  if (memory_kind(address) == MemoryKind::device) require_device_range(address, bytes, what);
}

bool direction_fits(cudaMemcpyKind kind, MemoryKind to, MemoryKind from) {
  const bool to_device = to == MemoryKind::device, from_device = from == MemoryKind::device;
  switch (kind) {
    case cudaMemcpyHostToHost: return !to_device && !from_device;
    case cudaMemcpyHostToDevice: return to_device && !from_device;
    case cudaMemcpyDeviceToHost: return !to_device && from_device;
    case cudaMemcpyDeviceToDevice: return to_device && from_device;
    case cudaMemcpyDefault: return true;
  }
  return false;
}

cudaError_t copy(void* to, const void* from, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream,
                 bool synchronous) {
  if (bytes == 0) return cudaSuccess;
  const MemoryKind to_kind = memory_kind(to), from_kind = memory_kind(from);
  if (!direction_fits(kind, to_kind, from_kind)) return note(cudaErrorInvalidValue);
  require_range(to, bytes, "a copy's destination");
  require_range(from, bytes, "a copy's source");
  Stream& s = stream_of(stream);
  const bool pageable = to_kind == MemoryKind::pageable || from_kind == MemoryKind::pageable;
  if (synchronous || to_kind == MemoryKind::pageable) {
    // The call returns once the copy is done: the stream's earlier work first.
    if (capturing()) return refuse_during_capture();
    drain(s);
    std::memcpy(to, from, bytes);
    return cudaSuccess;
  }
  if (pageable) {
    // From pageable memory: staged before the call returns, so the caller may reuse it.
    if (s.capture) return refuse_during_capture();
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(from),
                                                               static_cast<const unsigned char*>(from) + bytes);
    return enqueue(stream, [to, staged] { std::memcpy(to, staged->data(), staged->size()); });
  }
  return enqueue(stream, [to, from, bytes] { std::memcpy(to, from, bytes); });
}

}  // namespace

int stream_device(cudaStream_t stream) { return stream ? stream->stream.device : current_device; }

cudaError_t enqueue(cudaStream_t stream, std::function<void()> operation, const void* kernel) {
  Stream& s = stream_of(stream);
  if (s.capture) {
    if (s.invalidated) return note(cudaErrorStreamCaptureInvalidated);
    s.capture->nodes.push_back({std::move(operation), kernel});
    return cudaSuccess;
  }
  s.queue.push_back(std::move(operation));
  return cudaSuccess;
}

cudaError_t enqueue_kernel(cudaStream_t stream, KernelLaunch launch) {
  const dim3 b = launch.blocks, t = launch.threads;
  const unsigned long long threads = 1ull * t.x * t.y * t.z;
  const bool valid = b.x >= 1 && b.y >= 1 && b.z >= 1 && b.x <= 0x7fffffffu && b.y <= 65535 && b.z <= 65535 &&
                     t.x >= 1 && t.y >= 1 && t.z >= 1 && t.x <= 1024 && t.y <= 1024 && t.z <= 64 && threads <= 1024;
  if (!valid || launch.shared_bytes > dynamic_shared_limit(launch.kernel)) return note(cudaErrorInvalidConfiguration);
  // A kernel goes only to a stream of the current device.
  if (stream_device(stream) != current_device) return note(cudaErrorInvalidResourceHandle);
  // A cooperative grid must be resident at once: at most what the multiprocessors it may use hold.
  if (launch.cooperative &&
      1ull * b.x * b.y * b.z >
          1ull * resident_multiprocessors * blocks_per_multiprocessor(unsigned(threads), launch.shared_bytes))
    return note(cudaErrorCooperativeLaunchTooLarge);
  const void* kernel = launch.kernel;
  auto queued = std::make_shared<KernelLaunch>(std::move(launch));
  return enqueue(
      stream, [queued] { run_grid(*queued); }, kernel);
}

void set_resident_multiprocessors(int multiprocessors) {
  resident_multiprocessors = multiprocessors > 0 ? std::min(multiprocessors, kMultiprocessors) : kMultiprocessors;
}

}  // namespace genrnn::simt

using namespace genrnn::simt;

// ---- errors ----

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorCooperativeLaunchTooLarge: return "cudaErrorCooperativeLaunchTooLarge";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorGraphExecUpdateFailure: return "cudaErrorGraphExecUpdateFailure";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorCooperativeLaunchTooLarge: return "too many blocks in cooperative launch";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorGraphExecUpdateFailure:
      return "the graph update was not performed because it included changes which violated constraints specific to "
             "instantiated graph update";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureWrongThread:
      return "operation not permitted on an event last recorded in a capturing stream";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  const cudaError_t error = genrnn::simt::last_error;
  genrnn::simt::last_error = cudaSuccess;
  return error;
}

// ---- the device ----

cudaError_t cudaGetDeviceCount(int* count) {
  *count = kDevices;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
  if (device < 0 || device >= kDevices) return note(cudaErrorInvalidDevice);
  *properties = {};
  std::strcpy(properties->name, "host SIMT executor");
  properties->totalGlobalMem = std::size_t(16) << 30;
  properties->sharedMemPerBlock = kSharedPerBlock;
  properties->sharedMemPerBlockOptin = kMostSharedPerBlock;
  properties->warpSize = 32;
  properties->maxThreadsPerBlock = 1024;
  properties->maxThreadsDim[0] = properties->maxThreadsDim[1] = 1024;
  properties->maxThreadsDim[2] = 64;
  properties->maxGridSize[0] = 0x7fffffff;
  properties->maxGridSize[1] = properties->maxGridSize[2] = 65535;
  properties->major = 9;
  properties->minor = 0;
  properties->multiProcessorCount = kMultiprocessors;
  properties->cooperativeLaunch = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= kDevices) return note(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = current_device;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (capturing()) return refuse_during_capture();
  drain_all();
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total) {
  *total = std::size_t(16) << 30;
  *free = *total - device_bytes_in_use();
  return cudaSuccess;
}

// ---- memory ----

cudaError_t cudaMalloc(void** pointer, std::size_t bytes) {
  if (capturing()) return refuse_during_capture();
  *pointer = allocate(bytes, false);
  return *pointer ? cudaSuccess : note(cudaErrorMemoryAllocation);
}

cudaError_t cudaFree(void* pointer) {
  if (!pointer) return cudaSuccess;
  if (capturing()) return refuse_during_capture();
  drain_all();  // cudaFree waits for the device
  return release(pointer, false) ? cudaSuccess : note(cudaErrorInvalidValue);
}

cudaError_t cudaMallocAsync(void** pointer, std::size_t bytes, cudaStream_t stream) {
  // CUDA would put an allocation node into the graph; genrnn sets every buffer up before it
  // captures, so an allocation inside a capture is a bug the executor reports.
  if (stream_of(stream).capture) return refuse_during_capture();
  *pointer = allocate(bytes, false);
  return *pointer ? cudaSuccess : note(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeAsync(void* pointer, cudaStream_t stream) {
  if (!pointer) return cudaSuccess;
  if (stream_of(stream).capture) return refuse_during_capture();
  if (memory_kind(pointer) != MemoryKind::device) return note(cudaErrorInvalidValue);
  return enqueue(stream, [pointer] {
    if (!release(pointer, false)) fail("cudaFreeAsync of memory that is no longer allocated (freed twice?)");
  });
}

cudaError_t cudaMallocHost(void** pointer, std::size_t bytes) {
  if (capturing()) return refuse_during_capture();
  *pointer = allocate(bytes, true);
  return *pointer ? cudaSuccess : note(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void* pointer) {
  if (!pointer) return cudaSuccess;
  if (capturing()) return refuse_during_capture();
  drain_all();
  return release(pointer, true) ? cudaSuccess : note(cudaErrorInvalidValue);
}

cudaError_t cudaMemcpy(void* to, const void* from, std::size_t bytes, cudaMemcpyKind kind) {
  return copy(to, from, bytes, kind, nullptr, true);
}

cudaError_t cudaMemcpyAsync(void* to, const void* from, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  return copy(to, from, bytes, kind, stream, false);
}

cudaError_t cudaMemsetAsync(void* to, int value, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  require_device_range(to, bytes, "cudaMemsetAsync");
  return enqueue(stream, [to, value, bytes] { std::memset(to, value, bytes); });
}

// ---- streams ----

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  *stream = new CUstream_st;
  (*stream)->stream.device = current_device;
  streams().insert(&(*stream)->stream);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream) return note(cudaErrorInvalidResourceHandle);
  drain(stream->stream);  // queued work still completes, as CUDA promises
  streams().erase(&stream->stream);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (capturing()) return refuse_during_capture();
  drain(stream_of(stream));
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  Stream& s = stream_of(stream);
  if (s.capture) return note(cudaErrorStreamCaptureUnsupported);
  s.capture = std::make_unique<Graph>();
  s.invalidated = false;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  Stream& s = stream_of(stream);
  *graph = nullptr;
  if (!s.capture) return note(cudaErrorInvalidValue);
  std::unique_ptr<Graph> captured = std::move(s.capture);
  if (s.invalidated) {
    s.invalidated = false;
    return note(cudaErrorStreamCaptureInvalidated);
  }
  *graph = new CUgraph_st{std::move(*captured)};
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  const Stream& s = stream_of(stream);
  *status = !s.capture      ? cudaStreamCaptureStatusNone
            : s.invalidated ? cudaStreamCaptureStatusInvalidated
                            : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

// ---- events ----

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  *event = new CUevent_st;
  (*event)->event.device = current_device;
  (*event)->event.timing = (flags & cudaEventDisableTiming) == 0;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event) return note(cudaErrorInvalidResourceHandle);
  Event* e = &event->event;
  if (e->device != stream_device(stream)) return note(cudaErrorInvalidResourceHandle);  // as CUDA refuses
  e->stream = &stream_of(stream);
  e->completed = false;
  return enqueue(stream, [e] {
    e->completed = true;
    e->milliseconds = now_milliseconds();
  });
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event) return note(cudaErrorInvalidResourceHandle);
  if (capturing()) return refuse_during_capture();
  Event& e = event->event;
  while (!e.completed && e.stream && !e.stream->queue.empty()) {
    Operation operation = std::move(e.stream->queue.front());
    e.stream->queue.pop_front();
    operation();
  }
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* milliseconds, cudaEvent_t start, cudaEvent_t stop) {
  if (!start || !stop || !start->event.timing || !stop->event.timing) return note(cudaErrorInvalidResourceHandle);
  if (!start->event.completed || !stop->event.completed) return note(cudaErrorNotReady);
  *milliseconds = static_cast<float>(stop->event.milliseconds - start->event.milliseconds);
  return cudaSuccess;
}

// ---- kernels ----

cudaError_t cudaFuncSetAttribute(const void* function, cudaFuncAttribute attribute, int value) {
  if (attribute != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
      static_shared_bytes() + std::size_t(value) > kMostSharedPerBlock)
    return note(cudaErrorInvalidValue);
  dynamic_shared_limits()[function] = std::size_t(value);
  return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attributes, const void* function) {
  if (!attributes || !function) return note(cudaErrorInvalidValue);
  *attributes = {};
  attributes->sharedSizeBytes = static_shared_bytes();
  attributes->maxThreadsPerBlock = 1024;
  attributes->maxDynamicSharedSizeBytes = int(dynamic_shared_limit(function));
  return cudaSuccess;
}

cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, const void* function, int block_size,
                                                          std::size_t dynamic_shared_bytes) {
  if (!blocks || !function || block_size < 1 || block_size > 1024) return note(cudaErrorInvalidValue);
  *blocks = dynamic_shared_bytes > dynamic_shared_limit(function)
                ? 0
                : blocks_per_multiprocessor(unsigned(block_size), dynamic_shared_bytes);
  return cudaSuccess;
}

// ---- graphs ----

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!graph) return note(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->graph};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec) return note(cudaErrorInvalidResourceHandle);
  for (const Node& node : exec->graph.nodes) {
    const cudaError_t status = enqueue(stream, node.operation, node.kernel);
    if (status != cudaSuccess) return status;
  }
  return cudaSuccess;
}

// The instantiation takes the graph's operations, with their new arguments, where the two
// have the same nodes: the same count, with the same kernels in the same places.
cudaError_t cudaGraphExecUpdate(cudaGraphExec_t exec, cudaGraph_t graph, cudaGraphExecUpdateResultInfo* info) {
  if (!exec || !graph) return note(cudaErrorInvalidValue);
  const std::vector<Node>&from = graph->graph.nodes, &to = exec->graph.nodes;
  bool same = from.size() == to.size();
  for (std::size_t i = 0; same && i < from.size(); ++i) same = from[i].kernel == to[i].kernel;
  if (info) info->result = same ? 0 : 1;
  if (!same) return note(cudaErrorGraphExecUpdateFailure);
  exec->graph = graph->graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
