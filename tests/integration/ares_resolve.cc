// ares_resolve: a c-ares client for tests/integration/test_dns.py, so the DNS interface is
// checked with the resolver library many applications link, not only with dig.
//
//   ares_resolve IP:PORT udp|tcp NAME...
//
// Asks IP:PORT for each NAME (SRV for a name starting with '_', else A) and prints one line
// per record, sorted: "NAME A 10.0.0.1", "NAME SRV 1 1 8080 target". Exits 1 if a query
// fails, 2 on bad usage.
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <sys/select.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Query {
  std::string name;
  std::vector<std::string> lines;
  int status = ARES_ENODATA;
};

void OnA(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
  auto* query = static_cast<Query*>(arg);
  query->status = status;
  if (status != ARES_SUCCESS) return;
  ares_addrttl addresses[256];
  int count = 256;
  query->status = ares_parse_a_reply(answer, length, nullptr, addresses, &count);
  for (int i = 0; i < count && query->status == ARES_SUCCESS; ++i) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addresses[i].ipaddr, text, sizeof(text));
    query->lines.push_back(query->name + " A " + text);
  }
}

void OnSrv(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
  auto* query = static_cast<Query*>(arg);
  query->status = status;
  if (status != ARES_SUCCESS) return;
  ares_srv_reply* replies = nullptr;
  query->status = ares_parse_srv_reply(answer, length, &replies);
  for (ares_srv_reply* reply = replies; reply != nullptr; reply = reply->next) {
    query->lines.push_back(query->name + " SRV " + std::to_string(reply->priority) + " " +
                           std::to_string(reply->weight) + " " + std::to_string(reply->port) +
                           " " + reply->host);
  }
  if (replies != nullptr) ares_free_data(replies);
}

void RunUntilDone(ares_channel channel) {
  while (true) {
    fd_set read_fds;
    fd_set write_fds;
    FD_ZERO(&read_fds);
    FD_ZERO(&write_fds);
    const int fd_count = ares_fds(channel, &read_fds, &write_fds);
    if (fd_count == 0) return;
    timeval wait{};
    timeval* timeout = ares_timeout(channel, nullptr, &wait);
    select(fd_count, &read_fds, &write_fds, nullptr, timeout);
    ares_process(channel, &read_fds, &write_fds);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || (std::string(argv[2]) != "udp" && std::string(argv[2]) != "tcp")) {
    std::fprintf(stderr, "usage: ares_resolve IP:PORT udp|tcp NAME...\n");
    return 2;
  }
  ares_library_init(ARES_LIB_INIT_ALL);
  ares_options options{};
  options.flags = ARES_FLAG_NOSEARCH | (std::string(argv[2]) == "tcp" ? ARES_FLAG_USEVC : 0);
  options.timeout = 3000;
  options.tries = 2;
  ares_channel channel = nullptr;
  if (ares_init_options(&channel, &options, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) !=
          ARES_SUCCESS ||
      ares_set_servers_ports_csv(channel, argv[1]) != ARES_SUCCESS) {
    std::fprintf(stderr, "ares_resolve: cannot set up c-ares for %s\n", argv[1]);
    return 2;
  }
  std::vector<Query> queries(static_cast<std::size_t>(argc - 3));
  for (int i = 3; i < argc; ++i) {
    Query& query = queries[static_cast<std::size_t>(i - 3)];
    query.name = argv[i];
    const bool srv = query.name.front() == '_';
    ares_query(channel, query.name.c_str(), ns_c_in, srv ? ns_t_srv : ns_t_a, srv ? OnSrv : OnA,
               &query);
  }
  RunUntilDone(channel);
  int exit_code = 0;
  for (Query& query : queries) {
    if (query.status != ARES_SUCCESS) {
      std::fprintf(stderr, "ares_resolve: %s: %s\n", query.name.c_str(),
                   ares_strerror(query.status));
      exit_code = 1;
    }
    std::sort(query.lines.begin(), query.lines.end());
    for (const std::string& line : query.lines) std::printf("%s\n", line.c_str());
  }
  ares_destroy(channel);
  ares_library_cleanup();
  return exit_code;
}
