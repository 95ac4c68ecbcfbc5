#pragma once
// How the processes of a run stay in step where only some of them could fail: a failure one
// process meets becomes the same error on every process, so none waits for the others forever.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "genrnn/parallel.hpp"
#include "parallel/communicator.hpp"

namespace genrnn {

// Runs `work` on every process; where it throws on any of them, every process throws RunError
// with the message (the lowest failed rank's, naming it unless every process failed alike).
void agree_on_errors(Communicator& world, const std::function<void()>& work);

// What a process says about its run, as (name, value) pairs every process lists in one order.
using RunFacts = std::vector<std::pair<std::string, std::string>>;
// Throws RunError on every process, naming the first fact on which a process differs from
// rank 0 and both values, when they do not all say the same.
void check_same_run(Communicator& world, const RunFacts& facts);

// A 64-bit FNV-1a digest of `size` bytes, as 16 hex digits: for facts too long to compare whole.
std::string digest(const void* data, std::size_t size);

}  // namespace genrnn
