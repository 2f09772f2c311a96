// DNS settings from JSON config files (docs/dns.md, "Settings"): Consul's keys
//   domain, alt_domain, recursors, ports.dns,
//   dns_config { node_ttl, service_ttl {NAME: TTL}, only_passing, a_record_limit,
//                recursor_strategy, recursor_timeout, enable_additional_node_meta_txt,
//                soa {refresh, retry, expire, min_ttl} }
// read from `roster server`/`roster dev`'s -config-file and `roster agent`'s
// -config-dir. Each key becomes the value of its -dns-* flag (cli/dns_flags.h) and is
// checked by the same parser, so a file and a flag mean the same thing; a flag given
// on the command line overrides the file's value. Other top-level keys are left alone
// (service definitions, Consul settings Roster takes as flags); unknown keys inside
// dns_config or soa, wrong JSON types and bad values are errors naming file and key.
// Several files: read in order; a later file's value wins, except recursors and
// service_ttl, which add up (as in Consul).
// Single-threaded.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cli/flags.h"

namespace roster::cli {

// Flag name (without '-') -> its values, as the files give them.
using FileFlags = std::map<std::string, std::vector<std::string>>;

// Adds one file's DNS settings to *out. InvalidArgument "<name>: <key>: <why>".
Status ReadDnsConfigFile(const std::string& name, std::string_view text, FileFlags* out);

// Reads each path in order: a file, or a directory whose *.json files are read in name
// order. IoError when a path cannot be read.
Result<FileFlags> LoadDnsConfigFiles(const std::vector<std::string>& paths);

// `args` with the files' settings put first, for the flags the command line does not
// give, so that Flags::Parse of the result sees the command line win.
std::vector<std::string> WithFileFlags(const FileFlags& file_flags, const Flags& command_line,
                                       const std::vector<std::string>& args);

// The command line's flags with the DNS settings of the files at `paths` under them
// (LoadDnsConfigFiles, WithFileFlags, then Flags::Parse again). An error says
// "-<source>: " and what LoadDnsConfigFiles said.
Result<Flags> WithDnsConfigFiles(const std::string& source, const std::vector<std::string>& paths,
                                 const Flags& command_line, const std::vector<std::string>& args,
                                 const std::set<std::string>& value_flags,
                                 const std::set<std::string>& bool_flags);

}  // namespace roster::cli
