#include "server/forked_encoder.h"

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

namespace roster::server {
namespace {

// The descriptors open in this process, as text: "0 1 2 7".
std::string OpenDescriptors() {
  std::string list;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return "opendir failed";
  const int own = dirfd(dir);
  std::vector<int> fds;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd != own) fds.push_back(fd);
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  for (int fd : fds) list += std::to_string(fd) + " ";
  return list;
}

TEST_CASE("ForkedEncoder encodes the data as it was when it started") {
  std::string data(4 << 20, 'a');  // several pipe buffers' worth
  Result<ForkedEncoder> child = ForkedEncoder::Start([&data] { return data; });
  REQUIRE(child.ok());
  // The caller goes on changing the data; the child encodes its frozen image.
  std::fill(data.begin(), data.end(), 'b');
  Result<std::string> encoded = child->CollectAll();
  REQUIRE(encoded.ok());
  CHECK(encoded->size() == data.size());
  CHECK(encoded->find('b') == std::string::npos);
}

TEST_CASE("ForkedEncoder reports a child that crashed instead of returning its bytes") {
  Result<ForkedEncoder> child = ForkedEncoder::Start([]() -> std::string { std::abort(); });
  REQUIRE(child.ok());
  Result<std::string> encoded = child->CollectAll();
  REQUIRE_FALSE(encoded.ok());
  CHECK(encoded.status().code() == StatusCode::kInternal);
  CHECK(encoded.status().message().find("signal") != std::string::npos);
}

TEST_CASE("ForkedEncoder streams to a sink, and a sink's error stops the child") {
  Result<ForkedEncoder> child = ForkedEncoder::Start([] { return std::string(16 << 20, 'z'); });
  REQUIRE(child.ok());
  std::size_t seen = 0;
  const Status status = child->Collect([&seen](std::string_view piece) {
    seen += piece.size();
    return seen < (2 << 20) ? Status::Ok() : IoError("disk full");
  });
  CHECK(status.code() == StatusCode::kIoError);
  CHECK(seen < (16 << 20));
}

TEST_CASE("ForkedEncoder's child holds no descriptor of the parent but its pipe") {
  // A listening socket left open in a child would keep the port busy after the parent
  // dies, and a restarted server could not bind it.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  Result<ForkedEncoder> child = ForkedEncoder::Start([] { return OpenDescriptors(); });
  REQUIRE(child.ok());
  Result<std::string> open = child->CollectAll();
  close(listener);
  REQUIRE(open.ok());
  // stdin, stdout, stderr and the pipe's write end, whatever its number.
  const std::string expected_prefix = "0 1 2 ";
  REQUIRE(open->substr(0, expected_prefix.size()) == expected_prefix);
  const std::string rest = open->substr(expected_prefix.size());
  CHECK(std::count(rest.begin(), rest.end(), ' ') == 1);
  CHECK(rest != std::to_string(listener) + " ");
}

TEST_CASE("A ForkedEncoder dropped without Collect reaps its child") {
  pid_t pid = 0;
  {
    Result<ForkedEncoder> child = ForkedEncoder::Start([] { return std::string(8 << 20, 'x'); });
    REQUIRE(child.ok());
    pid = child->pid_for_test();
  }
  // Reaped: no such child (a zombie would still be waitable).
  CHECK(waitpid(pid, nullptr, WNOHANG) == -1);
}

}  // namespace
}  // namespace roster::server
