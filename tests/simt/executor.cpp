// The host SIMT executor's kernel side: a grid's blocks one after another (in a shuffled
// order), each block's threads as fibers (Boost.Context) run in a seeded random order until
// they reach a barrier or a warp collective; every memory access of the instrumented kernel
// code checked (inside the thread's stack, the shared section, its launch's arguments or a live
// device allocation) and every shared-memory access put through a race detector.
#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include "executor.hpp"

namespace ctx = boost::context;

// The linker's bounds of the section the __shared__ variables live in (simt_device.hpp), and of
// the program's own data.
extern "C" {
extern char __start_genrnn_simt_shared[] __attribute__((weak));
extern char __stop_genrnn_simt_shared[] __attribute__((weak));
extern char etext[], end[];
}

namespace genrnn::simt {

void fail(const std::string& message) {
  std::fprintf(stderr, "host SIMT executor: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

namespace {

// ---- memory ----------------------------------------------------------------------------------

constexpr std::size_t kAlignment = 256;  // as cudaMalloc's
constexpr std::size_t kDeviceBytes = std::size_t(16) << 30;

struct Allocation {
  uintptr_t begin;
  std::size_t bytes;
  bool pinned;
};

struct Memory {
  std::map<uintptr_t, Allocation> live, freed;  // by their first byte
  std::size_t device_bytes = 0;
  const Allocation* last_hit = nullptr;

  const Allocation* containing(uintptr_t address, const std::map<uintptr_t, Allocation>& in) const {
    auto it = in.upper_bound(address);
    if (it == in.begin()) return nullptr;
    --it;
    return address < it->second.begin + it->second.bytes ? &it->second : nullptr;
  }
  const Allocation* find(uintptr_t address) {
    if (last_hit && address >= last_hit->begin && address < last_hit->begin + last_hit->bytes) return last_hit;
    const Allocation* found = containing(address, live);
    if (found) last_hit = found;
    return found;
  }
};

Memory& memory() {
  static Memory instance;
  return instance;
}

std::string hex(uintptr_t address) {
  std::ostringstream text;
  text << "0x" << std::hex << address;
  return text.str();
}

// [address, address + bytes) inside one live device allocation (not pinned host memory).
bool in_device_allocation(uintptr_t address, std::size_t bytes) {
  const Allocation* allocation = memory().find(address);
  return allocation && !allocation->pinned && address + bytes <= allocation->begin + allocation->bytes;
}

// ---- shared memory ---------------------------------------------------------------------------

uintptr_t shared_begin() { return reinterpret_cast<uintptr_t>(__start_genrnn_simt_shared); }
uintptr_t shared_end() { return reinterpret_cast<uintptr_t>(__stop_genrnn_simt_shared); }
constexpr std::size_t kSharedLimit = 48 * 1024;  // static shared memory per block, as on the GPU

// Per 4-byte word of the shared section: who last wrote it and who read it, in which barrier
// interval ("epoch", unique over the whole run).
struct WordAccesses {
  uint32_t write_epoch = 0, writer = 0;
  uint32_t read_epoch = 0, reader = 0;
};
constexpr uint32_t kSeveralThreads = 0xffffffffu;

// ---- threads and blocks ----------------------------------------------------------------------

enum class State { runnable, at_barrier, at_grid_barrier, in_collective, exited };

struct Thread {
  uint3 index{0, 0, 0};
  unsigned linear = 0, lane = 0, warp = 0;
  unsigned block = 0;  // its block's place among the resident blocks
  State state = State::runnable;
  bool started = false;
  ctx::fiber fiber;      // resumes the thread
  ctx::fiber scheduler;  // from inside the thread: resumes the scheduler
  uintptr_t stack_low = 0, stack_high = 0;
  uint64_t result = 0;  // of its last collective
};

struct Warp {
  unsigned exited = 0;  // lanes whose thread has exited
  bool active = false;  // a collective is gathering its lanes
  Collective kind = Collective::sync_warp;
  unsigned mask = 0, arrived = 0;
  uint64_t values[32] = {};
  int arguments[32] = {}, widths[32] = {};
};

// Shared memory the executor hands a block, with its race detector's record.
struct SharedMemory {
  std::vector<unsigned char> bytes;  // a cooperative block's copy of the static section; the dynamic part
  std::vector<WordAccesses> words;
  void reset(std::size_t size) {
    bytes.assign(size, 0xff);
    words.assign(size / 4 + 1, WordAccesses{});
  }
};

struct Block {
  const KernelLaunch* launch = nullptr;
  uint3 index{0, 0, 0};
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  std::vector<unsigned> runnable;
  unsigned live = 0, at_barrier = 0, at_grid_barrier = 0, exited = 0;
  uint32_t epoch = 0;
  SharedMemory statics, dynamic;  // the static section's (when it is not in place), the dynamic memory
};

// Fiber stacks with a guard page below each, reused from launch to launch.
class StackPool {
 public:
  static constexpr std::size_t kStackBytes = 128 * 1024;
  ctx::stack_context take() {
    if (free_.empty()) {
      const std::size_t page = 4096, bytes = kStackBytes + page;
      void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (memory == MAP_FAILED) fail("cannot map a fiber stack");
      mprotect(memory, page, PROT_NONE);  // an overflowing thread faults here
      ctx::stack_context stack;
      stack.size = kStackBytes;
      stack.sp = static_cast<char*>(memory) + bytes;
      return stack;
    }
    ctx::stack_context stack = free_.back();
    free_.pop_back();
    return stack;
  }
  void give(const ctx::stack_context& stack) { free_.push_back(stack); }

 private:
  std::vector<ctx::stack_context> free_;
};

// Boost.Context's stack allocator concept, recording the range on the thread it runs.
struct ThreadStack {
  StackPool* pool;
  Thread* thread;
  ctx::stack_context allocate() {
    ctx::stack_context stack = pool->take();
    thread->stack_high = reinterpret_cast<uintptr_t>(stack.sp);
    thread->stack_low = thread->stack_high - stack.size;
    return stack;
  }
  void deallocate(ctx::stack_context& stack) noexcept { pool->give(stack); }
};

// SplitMix64: the thread order needs many cheap, seeded draws, not a strong generator.
struct Order {
  using result_type = uint64_t;
  uint64_t state = 1;
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t(0); }
  uint64_t operator()() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

struct Executor {
  Order order;
  uint32_t next_epoch = 1;
  StackPool stacks;
  std::vector<Block> resident;  // the blocks running together
  std::size_t current = 0;      // the block whose threads run while it has runnable ones
  bool cooperative = false;
  Block* shared_owner = nullptr;  // whose static shared memory the section holds
  Block* block = nullptr;         // the block of the thread running
  Thread* thread = nullptr;       // the thread running, while a kernel runs
  // Accesses are checked: kernel code runs. Off inside the executor's own calls, which may run
  // libstdc++ code whose inline copy the linker took from an instrumented file.
  bool checking = false;
  uintptr_t arguments_begin = 0, arguments_end = 0;
};

Executor the_executor;
Executor& executor() { return the_executor; }

// Pauses the access checks for the executor's own work inside a call from kernel code.
class Paused {
 public:
  Paused() : was_(the_executor.checking) { the_executor.checking = false; }
  ~Paused() { the_executor.checking = was_; }
  Paused(const Paused&) = delete;
  Paused& operator=(const Paused&) = delete;

 private:
  bool was_;
};

std::string thread_name(const Block& block, unsigned linear) {
  const uint3 i = block.threads[linear].index;
  std::ostringstream text;
  text << "thread (" << i.x << "," << i.y << "," << i.z << ")";
  return text.str();
}

const char* collective_name(Collective kind) {
  switch (kind) {
    case Collective::shfl: return "__shfl_sync";
    case Collective::shfl_xor: return "__shfl_xor_sync";
    case Collective::shfl_up: return "__shfl_up_sync";
    case Collective::shfl_down: return "__shfl_down_sync";
    case Collective::ballot: return "__ballot_sync";
    case Collective::any: return "__any_sync";
    case Collective::all: return "__all_sync";
    case Collective::sync_warp: return "__syncwarp";
  }
  return "a collective";
}

// Suspends the running thread in `state`; returns when the scheduler resumes it (inside the
// executor's call it was made from: checks paused again).
void park(State state) {
  Thread& thread = *executor().thread;
  thread.state = state;
  thread.scheduler = std::move(thread.scheduler).resume();
  executor().checking = false;
}

void make_runnable(Thread& thread) {
  thread.state = State::runnable;
  executor().resident[thread.block].runnable.push_back(thread.linear);
}

bool any_runnable() {
  for (const Block& block : executor().resident)
    if (!block.runnable.empty()) return true;
  return false;
}

std::string block_name(const Block& block) {
  std::ostringstream text;
  text << "kernel " << block.launch->name << ", block (" << block.index.x << "," << block.index.y << ","
       << block.index.z << ")";
  return text.str();
}

// "kernel K, block (x,y,z), thread (x,y,z)": the running thread, for messages.
std::string where() {
  const Executor& e = executor();
  return block_name(*e.block) + ", " + thread_name(*e.block, e.thread->linear);
}

// A barrier's release: every thread waiting in `state` goes on in a new barrier interval.
void release(Block& block, State state, const char* barrier) {
  if (block.exited > 0) {
    const unsigned waiting = state == State::at_barrier ? block.at_barrier : block.at_grid_barrier;
    fail(block_name(block) + ": " + std::to_string(waiting) + " threads wait at " + barrier + " while " +
         std::to_string(block.exited) +
         " threads of the block exited without reaching it (undefined behaviour on a GPU)");
  }
  for (Thread& thread : block.threads)
    if (thread.state == state) make_runnable(thread);
  block.at_barrier = block.at_grid_barrier = 0;
  block.epoch = executor().next_epoch++;
}

[[noreturn]] void deadlock() {
  std::ostringstream text;
  text << "no thread can go on:";
  for (const Block& block : executor().resident) {
    if (block.live == 0) continue;
    text << " " << block_name(block) << " has " << block.at_barrier << " at __syncthreads(), " << block.at_grid_barrier
         << " at grid.sync(), " << block.exited << " exited;";
    for (std::size_t w = 0; w < block.warps.size(); ++w) {
      const Warp& warp = block.warps[w];
      if (warp.active)
        text << " its warp " << w << " waits in " << collective_name(warp.kind) << " with mask 0x" << std::hex
             << warp.mask << " for lanes 0x" << (warp.mask & ~warp.arrived) << std::dec << ";";
    }
  }
  fail(text.str());
}

// When nothing can run: the barriers every live thread waits at are released, or no thread can
// go on at all.
void release_barriers() {
  Executor& e = executor();
  unsigned live = 0, at_grid_barrier = 0;
  for (Block& block : e.resident) {
    live += block.live;
    at_grid_barrier += block.at_grid_barrier;
    if (block.at_barrier > 0 && block.at_barrier == block.live) release(block, State::at_barrier, "__syncthreads()");
  }
  if (any_runnable()) return;
  if (at_grid_barrier > 0 && at_grid_barrier == live) {
    for (Block& block : e.resident)
      if (block.live > 0 || block.exited > 0) release(block, State::at_grid_barrier, "grid.sync()");
    return;
  }
  deadlock();
}

// The static section holds the running block's shared memory: a cooperative grid's blocks
// swap their copies in and out.
void own_shared_section(Block& block) {
  Executor& e = executor();
  if (e.shared_owner == &block) return;
  const std::size_t size = shared_end() - shared_begin();
  if (e.shared_owner) std::memcpy(e.shared_owner->statics.bytes.data(), __start_genrnn_simt_shared, size);
  std::memcpy(__start_genrnn_simt_shared, block.statics.bytes.data(), size);
  e.shared_owner = &block;
}

void resume(Block& block, Thread& thread) {
  Executor& e = executor();
  if (e.cooperative) own_shared_section(block);
  if (!thread.started) {
    thread.started = true;
    thread.fiber =
        ctx::fiber(std::allocator_arg, ThreadStack{&e.stacks, &thread}, [&thread, &block](ctx::fiber&& back) {
          thread.scheduler = std::move(back);
          block.launch->run_thread(block.launch->arguments.get());
          thread.state = State::exited;
          return std::move(thread.scheduler);
        });
  }
  e.block = &block;
  e.thread = &thread;
  e.checking = true;
  thread.fiber = std::move(thread.fiber).resume();
  e.checking = false;
  e.thread = nullptr;
  switch (thread.state) {
    case State::exited:
      --block.live;
      ++block.exited;
      block.warps[thread.warp].exited |= 1u << thread.lane;
      break;
    case State::at_barrier: ++block.at_barrier; break;
    case State::at_grid_barrier: ++block.at_grid_barrier; break;
    case State::in_collective:  // made runnable by the lane that completes the collective
      break;
    case State::runnable: block.runnable.push_back(thread.linear); break;
  }
}

void prepare_block(Block& block, const KernelLaunch& launch, uint64_t linear, unsigned slot) {
  Executor& e = executor();
  const dim3 grid = launch.blocks, shape = launch.threads;
  const unsigned size = shape.x * shape.y * shape.z;
  block.launch = &launch;
  block.index = {unsigned(linear % grid.x), unsigned(linear / grid.x % grid.y),
                 unsigned(linear / (uint64_t(grid.x) * grid.y))};
  block.threads.clear();
  block.threads.resize(size);
  block.warps.assign((size + 31) / 32, Warp{});
  block.runnable.clear();
  for (unsigned t = 0; t < size; ++t) {
    Thread& thread = block.threads[t];
    thread.linear = t;
    thread.lane = t % 32;
    thread.warp = t / 32;
    thread.block = slot;
    thread.index = {t % shape.x, t / shape.x % shape.y, t / (shape.x * shape.y)};
    block.runnable.push_back(t);
  }
  block.live = size;
  block.at_barrier = block.at_grid_barrier = block.exited = 0;
  block.epoch = e.next_epoch++;
  // Shared memory starts as NaN bytes in every block, as nothing may be assumed of it.
  block.statics.reset(shared_end() - shared_begin());
  block.dynamic.reset(launch.shared_bytes);
}

// A random block with runnable threads, or false when there is none.
bool pick_block(std::size_t& slot) {
  Executor& e = executor();
  std::size_t candidates = 0;
  for (const Block& block : e.resident) candidates += !block.runnable.empty();
  if (candidates == 0) return false;
  std::size_t nth = e.order() % candidates;
  for (slot = 0; e.resident[slot].runnable.empty() || nth-- > 0; ++slot) {
  }
  return true;
}

// Runs the resident blocks' threads until all have exited: a random runnable thread of the
// current block, and when none is left, a random other block's (so a cooperative grid swaps its
// blocks' shared memory only when a block has to wait). A block whose threads have all reached
// __syncthreads() goes on at once or waits while others run, at random: as on a GPU, blocks
// drift apart between grid barriers, so code that misses a grid.sync() meets both orders.
void run_resident() {
  Executor& e = executor();
  if (!e.cooperative && shared_end() > shared_begin())
    std::memset(__start_genrnn_simt_shared, 0xff, shared_end() - shared_begin());
  e.current = 0;
  for (;;) {
    Block& waiting = e.resident[e.current];
    if (waiting.runnable.empty() && waiting.at_barrier > 0 && waiting.at_barrier == waiting.live && e.order() % 2) {
      release(waiting, State::at_barrier, "__syncthreads()");
      continue;
    }
    if (e.resident[e.current].runnable.empty() && !pick_block(e.current)) {
      bool done = true;
      for (const Block& block : e.resident) done = done && block.live == 0;
      if (done) return;
      release_barriers();
      continue;
    }
    Block& block = e.resident[e.current];
    const std::size_t pick = e.order() % block.runnable.size();
    const unsigned t = block.runnable[pick];
    block.runnable[pick] = block.runnable.back();
    block.runnable.pop_back();
    resume(block, block.threads[t]);
  }
}

// ---- access checks ---------------------------------------------------------------------------

// `words` records the accesses to the shared memory that starts at `base`.
void record_shared(uintptr_t address, std::size_t bytes, bool write, uintptr_t base, std::vector<WordAccesses>& words) {
  Executor& e = executor();
  const Thread& thread = *e.thread;
  const uint32_t epoch = e.block->epoch;
  const std::size_t first = (address - base) / 4, last = (address + bytes - 1 - base) / 4;
  for (std::size_t w = first; w <= last; ++w) {
    WordAccesses& word = words[w];
    const char* access = write ? "writes" : "reads";
    auto race = [&](const char* other, uint32_t who) {
      fail(where() + " " + access + (base == shared_begin() ? " shared" : " dynamic shared") + " memory at offset " +
           std::to_string(w * 4) + " that " +
           (who == kSeveralThreads ? std::string("several other threads") : thread_name(*e.block, who)) + " " + other +
           " in the same barrier interval: a race (a __syncthreads() is missing)");
    };
    if (word.write_epoch == epoch && word.writer != thread.linear) race("wrote", word.writer);
    if (write) {
      if (word.read_epoch == epoch && word.reader != thread.linear) race("read", word.reader);
      word.write_epoch = epoch;
      word.writer = thread.linear;
    } else if (word.read_epoch != epoch) {
      word.read_epoch = epoch;
      word.reader = thread.linear;
    } else if (word.reader != thread.linear) {
      word.reader = kSeveralThreads;
    }
  }
}

// Which shared memory `address` is in, if any: the running block's static section or its
// dynamic part.
bool in_range(uintptr_t address, std::size_t bytes, uintptr_t begin, std::size_t size, const char* what) {
  if (address < begin || address >= begin + size) return false;
  if (address + bytes > begin + size) fail(where() + " accesses past the end of " + what);
  return true;
}

void check_access(const void* pointer, std::size_t bytes, bool write) {
  Executor& e = executor();
  if (!e.checking) return;  // host code of an instrumented file, or the executor's own
  const Paused paused;
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  const Thread& thread = *e.thread;
  Block& block = *e.block;
  if (in_range(address, bytes, shared_begin(), shared_end() - shared_begin(), "shared memory")) {
    record_shared(address, bytes, write, shared_begin(), block.statics.words);
    return;
  }
  const auto dynamic = reinterpret_cast<uintptr_t>(block.dynamic.bytes.data());
  if (in_range(address, bytes, dynamic, block.dynamic.bytes.size(), "the block's dynamic shared memory")) {
    record_shared(address, bytes, write, dynamic, block.dynamic.words);
    return;
  }
  if (address >= thread.stack_low && address + bytes <= thread.stack_high) return;
  if (address >= e.arguments_begin && address + bytes <= e.arguments_end) {
    if (write) fail(where() + " writes into its launch's copy of the arguments");
    return;
  }
  if (in_device_allocation(address, bytes)) return;
  fail(where() + (write ? " writes " : " reads ") + std::to_string(bytes) + " bytes at " + hex(address) + ", " +
       describe_address(address));
}

template <class T>
T atomic_add_at(T* address, T value) {
  Executor& e = executor();
  if (!e.thread) fail("atomicAdd outside a kernel");
  const Paused paused;
  const auto a = reinterpret_cast<uintptr_t>(address);
  const auto dynamic = reinterpret_cast<uintptr_t>(e.block->dynamic.bytes.data());
  const bool shared = (a >= shared_begin() && a + sizeof(T) <= shared_end()) ||
                      (a >= dynamic && a + sizeof(T) <= dynamic + e.block->dynamic.bytes.size());
  if (!shared && !in_device_allocation(a, sizeof(T)))
    fail(where() + " atomicAdd on " + std::to_string(sizeof(T)) + " bytes at " + hex(a) + ", " + describe_address(a));
  const T old = *address;
  *address = old + value;
  return old;
}

}  // namespace

// ---- memory: the runtime's side ---------------------------------------------------------------

void* allocate(std::size_t bytes, bool pinned) {
  Memory& m = memory();
  if (!pinned && m.device_bytes + bytes > kDeviceBytes) return nullptr;
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  void* pointer = std::aligned_alloc(kAlignment, rounded);
  if (!pointer) return nullptr;
  if (!pinned) std::memset(pointer, 0xff, rounded);
  const auto begin = reinterpret_cast<uintptr_t>(pointer);
  m.freed.erase(begin);
  m.live[begin] = {begin, bytes, pinned};
  if (!pinned) m.device_bytes += bytes;
  return pointer;
}

bool release(void* pointer, bool pinned) {
  Memory& m = memory();
  const auto it = m.live.find(reinterpret_cast<uintptr_t>(pointer));
  if (it == m.live.end() || it->second.pinned != pinned) return false;
  if (!pinned) m.device_bytes -= it->second.bytes;
  if (m.freed.size() > 100000) m.freed.erase(m.freed.begin());
  m.freed[it->first] = it->second;
  m.last_hit = nullptr;
  m.live.erase(it);
  std::free(pointer);
  return true;
}

MemoryKind memory_kind(const void* address) {
  const Allocation* allocation = memory().find(reinterpret_cast<uintptr_t>(address));
  if (!allocation) return MemoryKind::pageable;
  return allocation->pinned ? MemoryKind::pinned : MemoryKind::device;
}

void require_device_range(const void* address, std::size_t bytes, const std::string& what) {
  if (bytes == 0) return;
  const auto begin = reinterpret_cast<uintptr_t>(address);
  if (!in_device_allocation(begin, bytes))
    fail(what + ": " + std::to_string(bytes) + " bytes at " + hex(begin) + ", " + describe_address(begin));
}

std::size_t device_bytes_in_use() { return memory().device_bytes; }

std::string describe_address(uintptr_t address) {
  Memory& m = memory();
  if (const Allocation* a = m.containing(address, m.live)) {
    if (a->pinned) return "inside pinned host memory, which kernels do not touch";
    return "which runs past the end of the " + std::to_string(a->bytes) + "-byte device allocation at " +
           hex(a->begin) + " (from its byte " + std::to_string(address - a->begin) + ")";
  }
  if (const Allocation* a = m.containing(address, m.freed))
    return "inside the " + std::to_string(a->bytes) + "-byte device allocation at " + hex(a->begin) +
           ", which was freed (use after free)";
  auto next = m.live.upper_bound(address);
  if (next != m.live.begin()) {
    const Allocation& before = std::prev(next)->second;
    if (!before.pinned && address - (before.begin + before.bytes) < 4096)
      return std::to_string(address - (before.begin + before.bytes)) + " bytes past the end of the " +
             std::to_string(before.bytes) + "-byte device allocation at " + hex(before.begin);
  }
  if (address >= reinterpret_cast<uintptr_t>(etext) && address < reinterpret_cast<uintptr_t>(end))
    return "a static variable of the program, outside any device allocation (a __shared__ variable in a function "
           "template? g++ drops the section that marks it there: declare it in a __device__ function that is not "
           "a template)";
  return "outside any device allocation";
}

// ---- kernels ----------------------------------------------------------------------------------

void reseed(uint64_t seed) { executor().order.state = seed; }

std::size_t static_shared_bytes() { return shared_end() - shared_begin(); }

void run_grid(const KernelLaunch& launch) {
  Executor& e = executor();
  const std::size_t static_bytes = static_shared_bytes();
  if (static_bytes > kSharedLimit)
    fail("the kernels' static shared memory, " + std::to_string(static_bytes) + " bytes, is over the " +
         std::to_string(kSharedLimit) + " bytes a block may have");
  e.arguments_begin = reinterpret_cast<uintptr_t>(launch.arguments.get());
  e.arguments_end = e.arguments_begin + launch.argument_bytes;
  const dim3 grid = launch.blocks;
  std::vector<uint64_t> order(std::size_t(grid.x) * grid.y * grid.z);
  for (std::size_t b = 0; b < order.size(); ++b) order[b] = b;
  std::shuffle(order.begin(), order.end(), e.order);  // blocks run in no particular order
  e.cooperative = launch.cooperative;
  if (launch.cooperative) {  // every block resident at once, for grid.sync()
    e.resident.resize(order.size());
    for (std::size_t slot = 0; slot < order.size(); ++slot)
      prepare_block(e.resident[slot], launch, order[slot], unsigned(slot));
    e.shared_owner = nullptr;
    run_resident();
  } else {  // one block after another, the static section theirs in turn
    e.resident.resize(1);
    for (uint64_t b : order) {
      prepare_block(e.resident[0], launch, b, 0);
      run_resident();
    }
  }
  e.resident.clear();
  e.shared_owner = e.block = nullptr;
  e.arguments_begin = e.arguments_end = 0;
}

// ---- what the running thread sees -------------------------------------------------------------

namespace {

Thread& running(const char* what) {
  Executor& e = executor();
  if (!e.thread) fail(std::string(what) + " outside a kernel");
  return *e.thread;
}

// The executor's calls from kernel code pause the checks (Paused) for their own work.

}  // namespace

uint3 thread_index() {
  const Paused paused;
  return running("threadIdx").index;
}
uint3 block_index() {
  const Paused paused;
  running("blockIdx");
  return executor().block->index;
}
dim3 block_dim() {
  const Paused paused;
  running("blockDim");
  return executor().block->launch->threads;
}
dim3 grid_dim() {
  const Paused paused;
  running("gridDim");
  return executor().block->launch->blocks;
}

void sync_threads() {
  const Paused paused;
  running("__syncthreads()");
  park(State::at_barrier);
}

void sync_grid() {
  const Paused paused;
  running("grid.sync()");
  if (!executor().cooperative)
    fail(where() + " calls grid.sync() in a launch that is not cooperative (kernels::launch_cooperative)");
  park(State::at_grid_barrier);
}

void* dynamic_shared_memory() {
  const Paused paused;
  running("dynamic shared memory");
  std::vector<unsigned char>& bytes = executor().block->dynamic.bytes;
  return bytes.empty() ? nullptr : bytes.data();
}

namespace {

// The checks of a lane joining a collective; messages are built only on failure.
void check_collective(const Block& block, const Thread& thread, Collective kind, unsigned mask, int width) {
  const char* name = collective_name(kind);
  if (!((mask >> thread.lane) & 1u))
    fail(where() + " calls " + name + " with mask " + hex(mask) + ", which leaves its own lane " +
         std::to_string(thread.lane) + " out");
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    fail(where() + " calls " + name + " with width " + std::to_string(width) + ", not a power of 2 up to 32");
  const unsigned first = thread.warp * 32, lanes = std::min<unsigned>(32, unsigned(block.threads.size()) - first);
  if (lanes < 32 && (mask >> lanes) != 0)
    fail(where() + " calls " + name + " with mask " + hex(mask) +
         ", naming lanes the block does not have (its warp has " + std::to_string(lanes) + ")");
  const Warp& warp = block.warps[thread.warp];
  if (warp.active && (warp.kind != kind || warp.mask != mask))
    fail(where() + " calls " + name + " with mask " + hex(mask) + " while lanes of its warp wait in " +
         collective_name(warp.kind) + " with mask " + hex(warp.mask) + ": divergent warp collectives");
  if (mask & warp.exited)
    fail(where() + " calls " + name + " with mask " + hex(mask) + ", but lanes " + hex(mask & warp.exited) +
         " of its warp have exited");
}

// The lane whose value lane l gets, or l itself where the shuffle keeps its own value.
int source_lane(Collective kind, int l, int argument, int width) {
  const int segment = l / width * width;
  int source = l;
  switch (kind) {
    case Collective::shfl: source = segment + (argument & (width - 1)); break;
    case Collective::shfl_xor: source = l ^ argument; break;
    case Collective::shfl_up: source = l - argument; break;
    case Collective::shfl_down: source = l + argument; break;
    default: break;
  }
  // A lane of a later segment (or before this one, for up): the own value, as CUDA defines.
  if (kind != Collective::shfl && (source >= segment + width || (kind == Collective::shfl_up && source < segment)))
    return l;
  return source;
}

bool is_shuffle(Collective kind) {
  return kind == Collective::shfl || kind == Collective::shfl_xor || kind == Collective::shfl_up ||
         kind == Collective::shfl_down;
}

}  // namespace

uint64_t warp_collective(Collective kind, unsigned mask, uint64_t value, int argument, int width) {
  const Paused paused;
  Thread& thread = running(collective_name(kind));
  Block& block = *executor().block;
  check_collective(block, thread, kind, mask, width);
  Warp& warp = block.warps[thread.warp];
  if (!warp.active) {
    warp.active = true;
    warp.kind = kind;
    warp.mask = mask;
    warp.arrived = 0;
  }
  const unsigned lane = thread.lane;
  warp.values[lane] = value;
  warp.arguments[lane] = argument;
  warp.widths[lane] = width;
  warp.arrived |= 1u << lane;
  if (warp.arrived != mask) {
    park(State::in_collective);
    return thread.result;
  }
  // The last lane in: every lane's result, then the others go on.
  uint64_t ballot = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((mask >> l) & 1u && warp.values[l] != 0) ballot |= 1u << l;
  const unsigned first = thread.warp * 32;
  for (unsigned l = 0; l < 32; ++l) {
    if (!((mask >> l) & 1u)) continue;
    uint64_t result = 0;
    if (is_shuffle(kind)) {
      const int source = source_lane(kind, int(l), warp.arguments[l], warp.widths[l]);
      if (source < 0 || source >= 32 || !((mask >> source) & 1u))
        fail("kernel " + std::string(block.launch->name) + ": lane " + std::to_string(l) + " of warp " +
             std::to_string(thread.warp) + " reads lane " + std::to_string(source) + " in " + collective_name(kind) +
             ", which is not in the mask " + hex(mask) + " (undefined on a GPU)");
      result = warp.values[source];
    } else if (kind == Collective::ballot) {
      result = ballot;
    } else if (kind == Collective::any) {
      result = ballot != 0;
    } else if (kind == Collective::all) {
      result = ballot == mask;
    }
    Thread& target = block.threads[first + l];
    target.result = result;
    if (&target != &thread) make_runnable(target);
  }
  warp.active = false;
  return thread.result;
}

float atomic_add(float* address, float value) { return atomic_add_at(address, value); }
int atomic_add(int* address, int value) { return atomic_add_at(address, value); }

}  // namespace genrnn::simt

// ---- the instrumentation's calls --------------------------------------------------------------
// The kernel files are compiled with -fsanitize=thread but linked without TSan's runtime: these
// are the calls its instrumentation makes, answered by the executor's checks.
extern "C" {

void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}
void __tsan_read_range(void* address, unsigned long bytes) { genrnn::simt::check_access(address, bytes, false); }
void __tsan_write_range(void* address, unsigned long bytes) { genrnn::simt::check_access(address, bytes, true); }

#define GENRNN_SIMT_ACCESS(bytes)                                                                         \
  void __tsan_read##bytes(void* address) { genrnn::simt::check_access(address, bytes, false); }           \
  void __tsan_write##bytes(void* address) { genrnn::simt::check_access(address, bytes, true); }           \
  void __tsan_unaligned_read##bytes(void* address) { genrnn::simt::check_access(address, bytes, false); } \
  void __tsan_unaligned_write##bytes(void* address) { genrnn::simt::check_access(address, bytes, true); } \
  void __tsan_volatile_read##bytes(void* address) { genrnn::simt::check_access(address, bytes, false); }  \
  void __tsan_volatile_write##bytes(void* address) { genrnn::simt::check_access(address, bytes, true); }
GENRNN_SIMT_ACCESS(1)
GENRNN_SIMT_ACCESS(2)
GENRNN_SIMT_ACCESS(4)
GENRNN_SIMT_ACCESS(8)
GENRNN_SIMT_ACCESS(16)
#undef GENRNN_SIMT_ACCESS

// Atomics in instrumented host code (reference counts, static guards): done, not checked.
#define GENRNN_SIMT_ATOMICS(bits, type)                                                                         \
  type __tsan_atomic##bits##_load(const volatile type* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); } \
  void __tsan_atomic##bits##_store(volatile type* a, type v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); } \
  type __tsan_atomic##bits##_exchange(volatile type* a, type v, int) {                                          \
    return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                                         \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_add(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_sub(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_and(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_or(volatile type* a, type v, int) {                                          \
    return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                                           \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_xor(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  int __tsan_atomic##bits##_compare_exchange_strong(volatile type* a, type* c, type v, int, int) {              \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                     \
  }                                                                                                             \
  int __tsan_atomic##bits##_compare_exchange_weak(volatile type* a, type* c, type v, int, int) {                \
    return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                      \
  }                                                                                                             \
  type __tsan_atomic##bits##_compare_exchange_val(volatile type* a, type c, type v, int, int) {                 \
    __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                           \
    return c;                                                                                                   \
  }
GENRNN_SIMT_ATOMICS(8, char)
GENRNN_SIMT_ATOMICS(16, short)
GENRNN_SIMT_ATOMICS(32, int)
GENRNN_SIMT_ATOMICS(64, long long)
#undef GENRNN_SIMT_ATOMICS
void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

}  // extern "C"
