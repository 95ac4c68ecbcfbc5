#pragma once
// The host SIMT executor's internals, shared by its runtime (runtime.cpp), its cuBLAS
// (cublas.cpp) and its kernel scheduler (executor.cpp). Test-only: never in the shipped library.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace genrnn::simt {

// Prints "host SIMT executor: <message>" on stderr and aborts: a kernel bug the executor caught.
[[noreturn]] void fail(const std::string& message);

// ---- memory ----
// Device memory is host memory the executor hands out and tracks; it starts as NaN bytes
// (0xFF), as uninitialised memory should never be trusted. Pinned host memory is tracked too.
void* allocate(std::size_t bytes, bool pinned);
// False when `pointer` is not a live allocation of that kind.
bool release(void* pointer, bool pinned);
enum class MemoryKind { device, pinned, pageable };
MemoryKind memory_kind(const void* address);
// Fails, naming `what`, unless [address, address + bytes) lies inside one live device allocation.
void require_device_range(const void* address, std::size_t bytes, const std::string& what);
std::size_t device_bytes_in_use();
// What the executor knows of an address, for messages.
std::string describe_address(uintptr_t address);

// ---- streams ----
// Queues `operation` on the stream (it runs when the host waits for the stream, an event on it,
// or the device), or records it into the stream's capture. An error when the capture was
// invalidated. `kernel`: what a launch runs, so that a graph update can tell its nodes apart.
cudaError_t enqueue(cudaStream_t stream, std::function<void()> operation, const void* kernel = nullptr);
// The device a stream belongs to (the legacy default stream: the current device's).
int stream_device(cudaStream_t stream);

// ---- kernels ----
// The static shared memory a block of any kernel has: the section that holds every kernel's
// __shared__ variables (g++ cannot tell one kernel's from another's), so at least as much as a
// GPU gives any one kernel.
std::size_t static_shared_bytes();
// Runs every block of the grid, every thread a fiber, in a seeded random order between barriers.
void run_grid(const KernelLaunch& launch);
// The seed of the thread order; set before each test (tests/support/test_seed.cpp).
void reseed(uint64_t seed);

// ---- what a test may change ----
// How many multiprocessors a cooperative grid may occupy, while the device still reports all
// of them: a process sharing the GPU (MPS, a partition) gets fewer than the properties say.
// 0 restores the whole device.
void set_resident_multiprocessors(int multiprocessors);

}  // namespace genrnn::simt
