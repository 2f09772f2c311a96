// roster: the one binary. `roster server` and `roster dev` run a server; the other
// subcommands are clients of the HTTP API.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

void PrintUsage() {
  std::fprintf(stderr,
               "usage: roster <command> [flags] [args]\n"
               "\n"
               "  dev                          one server with its data in a fresh temp dir\n"
               "  server                       a Roster server (see roster server -h)\n"
               "  agent                        the per-host agent (see roster agent -h)\n"
               "  kv get|put|delete            the key/value store\n"
               "  lock [-n N] PREFIX COMMAND...  run COMMAND holding a lock or semaphore slot\n"
               "  elect PREFIX COMMAND...      run COMMAND once elected leader (no herd effect)\n"
               "  watch -type key|keyprefix    run a handler on every change of a key or prefix\n"
               "  members                      the cluster's nodes: alive, failed or left\n"
               "  services register|deregister  this agent's services\n"
               "  catalog services|nodes|datacenters  what the catalog holds\n"
               "  maint [-enable|-disable]     maintenance mode of this node or a service\n"
               "  leave                        make the agent leave the cluster and exit\n"
               "  reload                       make the agent re-read its -config-dir\n"
               "  operator raft list-peers|remove-peer\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage();
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "server") return roster::cli::RunServer(args, /*dev=*/false);
  if (command == "dev") return roster::cli::RunServer(args, /*dev=*/true);
  if (command == "agent") return roster::cli::RunAgent(args);
  if (command == "kv") return roster::cli::RunKv(args);
  if (command == "operator") return roster::cli::RunOperator(args);
  if (command == "lock") return roster::cli::RunLock(args);
  if (command == "elect") return roster::cli::RunElect(args);
  if (command == "watch") return roster::cli::RunWatch(args);
  if (command == "members") return roster::cli::RunMembers(args);
  if (command == "services") return roster::cli::RunServices(args);
  if (command == "catalog") return roster::cli::RunCatalog(args);
  if (command == "maint") return roster::cli::RunMaint(args);
  if (command == "leave") return roster::cli::RunLeave(args);
  if (command == "reload") return roster::cli::RunReload(args);
  if (command == "-h" || command == "--help" || command == "help") {
    PrintUsage();
    return 0;
  }
  std::fprintf(stderr, "roster: unknown command \"%s\"\n", command.c_str());
  PrintUsage();
  return 2;
}
