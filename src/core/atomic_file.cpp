#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "genrnn/error.hpp"

namespace genrnn {
namespace {

constexpr const char* temporary_infix = ".tmp.";

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// errno can be 0 when a stream fails for a reason the C library did not record.
std::string last_system_error() { return errno != 0 ? std::strerror(errno) : "input/output error"; }

[[noreturn]] void fail(const std::string& path, const std::string& step) {
  throw Error("cannot write " + path + ": " + step + ": " + last_system_error());
}

// Data still in the page cache could be lost after the rename has been published.
void flush_to_disk(const std::string& path, const std::string& temp_path) {
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot reopen " + temp_path);
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  ::close(fd);
  errno = sync_errno;
  if (!synced) fail(path, "cannot flush " + temp_path + " to disk");
}

std::string folder_of(const std::string& path) {
  const std::string folder = std::filesystem::path(path).parent_path().string();
  return folder.empty() ? "." : folder;
}

// The pid in "<name>.tmp.<host>.<pid>" when <host> is this machine, or in the "<name>.tmp.<pid>"
// of earlier versions; 0 for any other name (another machine's file on a shared folder, say).
pid_t local_temporary_owner(const std::string& file, const std::string& name, const std::string& host) {
  const std::string prefix = name + temporary_infix;
  if (file.size() <= prefix.size() || file.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string rest = file.substr(prefix.size());
  const std::size_t dot = rest.rfind('.');
  const std::string digits = dot == std::string::npos ? rest : rest.substr(dot + 1);
  if (dot != std::string::npos && rest.substr(0, dot) != host) return 0;
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<pid_t>(std::stol(digits));
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

}  // namespace

std::string temporary_path(const std::string& path, long pid) {
  return path + temporary_infix + host_name() + "." + std::to_string(pid);
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string temp_path = temporary_path(path, ::getpid());
  try {
    errno = 0;
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot create " + temp_path);
    write(out);
    out.close();
    if (!out) fail(path, "writing " + temp_path + " failed");
    flush_to_disk(path, temp_path);
    if (std::rename(temp_path.c_str(), path.c_str()) != 0) fail(path, "cannot rename " + temp_path + " into place");
  } catch (...) {
    std::remove(temp_path.c_str());
    throw;
  }
}

void check_writable(const std::string& path) {
  const std::string folder = folder_of(path);
  struct stat status {};
  if (::stat(folder.c_str(), &status) != 0) fail(path, "folder '" + folder + "'");
  if (!S_ISDIR(status.st_mode)) throw Error("cannot write " + path + ": '" + folder + "' is not a folder");
  if (::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode))
    throw Error("cannot write " + path + ": it is a folder");
  const std::string probe = temporary_path(path, ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot create a file in '" + folder + "'");
  ::close(fd);
  std::remove(probe.c_str());
}

std::vector<std::string> remove_stale_temporaries(const std::string& path) {
  const std::filesystem::path target(path);
  const std::string name = target.filename().string(), host = host_name();
  std::vector<std::string> removed;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder_of(path), error)) {
    const std::string file = entry.path().filename().string();
    const pid_t owner = local_temporary_owner(file, name, host);
    // Our own pid: an earlier process that had it, since this one is not writing `path` now.
    if (owner <= 0 || (owner != ::getpid() && process_exists(owner))) continue;
    if (std::filesystem::remove(entry.path(), error)) removed.push_back((target.parent_path() / file).string());
  }
  return removed;
}

}  // namespace genrnn
