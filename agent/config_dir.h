// Service and check definitions from the JSON files of -config-dir (docs/agent.md,
// "Config files"), in Consul's forms:
//   {"service": {...}}   {"services": [{...}, ...]}   {"check": {...}}   {"checks": [...]}
// Each definition is parsed exactly as the body of PUT /v1/agent/service/register or
// /v1/agent/check/register (http/agent_params.h), so Consul's field names, snake_case
// spellings and error texts apply. Files are read in name order; only *.json files;
// other top-level keys are left alone (they are Consul settings Roster takes as flags).
// Thread-safety: pure apart from reading the files.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "http/local_agent.h"

namespace roster::agent {

struct ConfigDefinitions {
  std::vector<http::AgentServiceRegistration> services;
  std::vector<http::AgentCheck> checks;
};

// InvalidArgument "<file>: <what is wrong>" for the first bad file; IoError when the
// directory or a file cannot be read.
Result<ConfigDefinitions> LoadConfigDir(const std::string& dir);
// One file's text (for tests); `name` appears in errors.
Status ParseConfigFile(const std::string& name, const std::string& text, ConfigDefinitions* out);

}  // namespace roster::agent
