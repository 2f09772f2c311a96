// The roster subcommands. Each takes the arguments after its name and returns the
// process exit code (0 ok, 1 failure, 2 usage error), printing errors to stderr.
#pragma once

#include <string>
#include <vector>

namespace roster::cli {

int RunServer(const std::vector<std::string>& args, bool dev);
// The per-host agent (cli/agent_command.cc, docs/agent.md).
int RunAgent(const std::vector<std::string>& args);
int RunKv(const std::vector<std::string>& args);
int RunOperator(const std::vector<std::string>& args);
// Coordination recipes (docs/cli.md): run a command under a lock or semaphore, as an
// elected leader, or on every change of a key or prefix.
int RunLock(const std::vector<std::string>& args);
int RunElect(const std::vector<std::string>& args);
int RunWatch(const std::vector<std::string>& args);
// Service discovery (cli/catalog_command.cc): members, services register|deregister,
// catalog services|nodes|datacenters, maint, leave, reload.
int RunMembers(const std::vector<std::string>& args);
int RunServices(const std::vector<std::string>& args);
int RunCatalog(const std::vector<std::string>& args);
int RunMaint(const std::vector<std::string>& args);
int RunLeave(const std::vector<std::string>& args);
int RunReload(const std::vector<std::string>& args);

}  // namespace roster::cli
