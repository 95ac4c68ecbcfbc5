#pragma once
// Which GPU is current while the library works: an engine's calls run on its own GPU, and the
// caller's current device is theirs again when the call returns (a PyTorch process, or any
// application with GPUs of its own, relies on that). Declared without CUDA headers: a build
// without CUDA has no GPU engines, and there every scope is empty.
namespace genrnn {

class DeviceScope {
 public:
  // Makes CUDA device `gpu` current on this thread until the scope ends; gpu < 0 (the CPU, or
  // "the current device"): changes nothing. Throws, naming the GPU, where it does not exist.
  explicit DeviceScope(int gpu);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  // The caller's device, where this scope changed it (never, in a build without CUDA).
  [[maybe_unused]] int previous_ = -1;
};

// The calling thread's current CUDA device (0 where nothing chose one); -1 in a build without
// CUDA or where the runtime reports an error.
int current_gpu();

}  // namespace genrnn
