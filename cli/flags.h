// Flags: Consul-style command-line flags for the roster subcommands.
//
// Accepts `-name value`, `-name=value`, `--name value`, `--name=value`; boolean flags
// stand alone (`-recurse`) or take `=true|false`; a flag may repeat (`-join a -join b`).
// Everything after the flags is positional. Single-threaded.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace roster::cli {

class Flags {
 public:
  // `value_flags` take a value, `bool_flags` do not. Unknown flags are an error that
  // names them.
  static Result<Flags> Parse(const std::vector<std::string>& args,
                             const std::set<std::string>& value_flags,
                             const std::set<std::string>& bool_flags);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  Result<long long> GetInt(const std::string& name, long long fallback) const;
  bool GetBool(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace roster::cli
