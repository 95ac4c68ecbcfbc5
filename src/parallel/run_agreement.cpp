#include "parallel/run_agreement.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <new>

namespace genrnn {

void agree_on_errors(Communicator& world, const std::function<void()>& work) {
  std::string mine;
  try {
    work();
  } catch (const RunError&) {
    throw;  // already every process's
  } catch (const std::bad_alloc&) {
    mine = "out of memory";
  } catch (const std::exception& error) {
    mine = error.what();
    if (mine.empty()) mine = "an error without a message";
  }
  if (world.size() == 1) {
    if (!mine.empty()) throw RunError(mine);
    return;
  }
  const std::vector<std::string> errors = world.all_gather(mine);
  const bool everyone_alike = std::all_of(errors.begin(), errors.end(), [&](const auto& e) { return e == errors[0]; });
  if (everyone_alike && !errors[0].empty()) throw RunError(errors[0]);
  for (std::size_t rank = 0; rank < errors.size(); ++rank)
    if (!errors[rank].empty()) throw RunError("process " + std::to_string(rank) + " of the run: " + errors[rank]);
}

void share_failure(const std::string& message) {
  agree_on_errors(run_communicator(), [&] {
    if (!message.empty()) throw Error(message);
  });
}

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t begin = 0, end; begin < text.size(); begin = end + 1) {
    end = text.find('\n', begin);
    lines.push_back(text.substr(begin, end - begin));
  }
  return lines;
}

}  // namespace

void check_same_run(Communicator& world, const RunFacts& facts) {
  if (world.size() == 1) return;
  std::string mine;
  for (const auto& [name, value] : facts) mine += value + '\n';  // values are single lines
  const std::vector<std::string> all = world.all_gather(mine);
  const std::vector<std::string> first = lines_of(all[0]);
  for (std::size_t rank = 1; rank < all.size(); ++rank) {
    const std::vector<std::string> said = lines_of(all[rank]);
    for (std::size_t fact = 0; fact < facts.size(); ++fact)
      if (fact >= said.size() || fact >= first.size() || said[fact] != first[fact])
        throw RunError("the processes of the run disagree on " + facts[fact].first + ": process " +
                       std::to_string(rank) + " has " + (fact < said.size() ? said[fact] : "none") +
                       ", process 0 has " + (fact < first.size() ? first[fact] : "none"));
  }
}

std::string digest(const void* data, std::size_t size) {
  uint64_t hash = 1469598103934665603ull;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace genrnn
