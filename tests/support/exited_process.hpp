#pragma once
// A process id that no running process has: a child's, once it has exited and been reaped
// (what a killed run leaves in the names of its temporary files).
#include <sys/wait.h>
#include <unistd.h>

namespace genrnn::testing {

inline pid_t pid_of_an_exited_process() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

}  // namespace genrnn::testing
