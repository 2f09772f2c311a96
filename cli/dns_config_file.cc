#include "cli/dns_config_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "base/check.h"
#include "cli/dns_flags.h"
#include "http/json_decode.h"

namespace roster::cli {
namespace {

using http::Json;

constexpr std::size_t kDepthMax = 32;

enum class Kind { kString, kDuration, kWholeNumber, kBool };

// A key of dns_config (or soa) and the flag it sets.
struct KeySpec {
  const char* key;
  const char* flag;
  Kind kind;
};

constexpr KeySpec kDnsConfigKeys[] = {
    {"node_ttl", "dns-node-ttl", Kind::kDuration},
    {"only_passing", "dns-only-passing", Kind::kBool},
    {"a_record_limit", "dns-a-record-limit", Kind::kWholeNumber},
    {"recursor_strategy", "dns-recursor-strategy", Kind::kString},
    {"recursor_timeout", "dns-recursor-timeout", Kind::kDuration},
    {"enable_additional_node_meta_txt", "dns-enable-additional-node-meta-txt", Kind::kBool},
};
constexpr KeySpec kSoaKeys[] = {
    {"refresh", "dns-soa-refresh", Kind::kWholeNumber},
    {"retry", "dns-soa-retry", Kind::kWholeNumber},
    {"expire", "dns-soa-expire", Kind::kWholeNumber},
    {"min_ttl", "dns-soa-min-ttl", Kind::kWholeNumber},
};

// One setting of a file: its key as written ("dns_config.soa.retry") and flag value.
struct Setting {
  std::string key;
  std::string flag;
  std::string value;
};

Status WrongType(const std::string& key, const char* wanted, const Json& value) {
  return InvalidArgument(key + ": needs " + wanted + ", not a JSON " +
                         std::string(http::GoJsonKind(value)));
}

// The flag value of `value`, checked against its kind's JSON type.
Result<std::string> FlagValue(const std::string& key, Kind kind, const Json& value) {
  switch (kind) {
    case Kind::kString:
      if (!value.is_string()) return WrongType(key, "a string", value);
      return value.get<std::string>();
    case Kind::kDuration:
      if (!value.is_string()) return WrongType(key, "a duration string such as \"30s\"", value);
      return value.get<std::string>();
    case Kind::kWholeNumber:
      if (!value.is_number_integer()) return WrongType(key, "a whole number", value);
      return value.dump();
    case Kind::kBool:
      if (!value.is_boolean()) return WrongType(key, "true or false", value);
      return std::string(value.get<bool>() ? "true" : "false");
  }
  return InvalidArgument(key + ": unreadable");
}

std::string KnownKeys(const KeySpec* begin, const KeySpec* end,
                      const std::vector<std::string>& nested) {
  std::string known;
  for (const KeySpec* spec = begin; spec != end; ++spec) {
    known += (known.empty() ? "" : ", ") + std::string(spec->key);
  }
  for (const std::string& name : nested) known += ", " + name;
  return known;
}

// The keys of an object that must hold only `specs` (and the keys in `nested`).
Status ReadKeys(const Json& object, const std::string& prefix, const KeySpec* begin,
                const KeySpec* end, const std::vector<std::string>& nested,
                std::vector<Setting>* out) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(nested.begin(), nested.end(), key) != nested.end()) continue;
    const KeySpec* spec =
        std::find_if(begin, end, [&key](const KeySpec& s) { return key == s.key; });
    if (spec == end) {
      return InvalidArgument(prefix + key +
                             ": unknown key (known: " + KnownKeys(begin, end, nested) + ")");
    }
    Result<std::string> flag_value = FlagValue(prefix + key, spec->kind, value);
    if (!flag_value.ok()) return flag_value.status();
    out->push_back({prefix + key, spec->flag, *flag_value});
  }
  return Status::Ok();
}

Status ReadDnsConfig(const Json& dns_config, std::vector<Setting>* out) {
  if (!dns_config.is_object()) return WrongType("dns_config", "an object", dns_config);
  RETURN_IF_ERROR(ReadKeys(dns_config, "dns_config.", std::begin(kDnsConfigKeys),
                           std::end(kDnsConfigKeys), {"service_ttl", "soa"}, out));
  if (const auto ttls = dns_config.find("service_ttl"); ttls != dns_config.end()) {
    if (!ttls->is_object()) return WrongType("dns_config.service_ttl", "an object", *ttls);
    for (const auto& [name, ttl] : ttls->items()) {
      const std::string key = "dns_config.service_ttl." + name;
      if (!ttl.is_string()) return WrongType(key, "a duration string such as \"30s\"", ttl);
      out->push_back({key, "dns-service-ttl", name + "=" + ttl.get<std::string>()});
    }
  }
  if (const auto soa = dns_config.find("soa"); soa != dns_config.end()) {
    if (!soa->is_object()) return WrongType("dns_config.soa", "an object", *soa);
    RETURN_IF_ERROR(
        ReadKeys(*soa, "dns_config.soa.", std::begin(kSoaKeys), std::end(kSoaKeys), {}, out));
  }
  return Status::Ok();
}

// The DNS settings among a file's top-level keys.
Status ReadSettings(const Json& root, std::vector<Setting>* out) {
  for (const char* key : {"domain", "alt_domain"}) {
    if (const auto it = root.find(key); it != root.end()) {
      if (!it->is_string()) return WrongType(key, "a string", *it);
      out->push_back(
          {key, key == std::string("domain") ? "domain" : "alt-domain", it->get<std::string>()});
    }
  }
  if (const auto recursors = root.find("recursors"); recursors != root.end()) {
    // Consul takes one address or a list.
    const Json list = recursors->is_string() ? Json::array({*recursors}) : *recursors;
    if (!list.is_array()) return WrongType("recursors", "a list of addresses", *recursors);
    for (const Json& address : list) {
      if (!address.is_string()) return WrongType("recursors", "a list of addresses", address);
      out->push_back({"recursors", "recursor", address.get<std::string>()});
    }
  }
  if (const auto ports = root.find("ports"); ports != root.end()) {
    if (!ports->is_object()) return WrongType("ports", "an object", *ports);
    if (const auto dns = ports->find("dns"); dns != ports->end()) {
      Result<std::string> port = FlagValue("ports.dns", Kind::kWholeNumber, *dns);
      if (!port.ok()) return port.status();
      out->push_back({"ports.dns", "dns-port", *port});
    }
  }
  if (const auto dns_config = root.find("dns_config"); dns_config != root.end()) {
    RETURN_IF_ERROR(ReadDnsConfig(*dns_config, out));
  }
  return Status::Ok();
}

// The DNS flag parser's verdict on some settings.
Status CheckWithFlagParser(const std::vector<Setting>& settings) {
  std::vector<std::string> args;
  for (const Setting& setting : settings) args.push_back("-" + setting.flag + "=" + setting.value);
  Result<Flags> flags = Flags::Parse(args, DnsValueFlags(), DnsBoolFlags());
  if (!flags.ok()) return flags.status();
  Result<DnsFlags> parsed = ParseDnsFlags(*flags, "127.0.0.1");
  return parsed.ok() ? Status::Ok() : parsed.status();
}

// The first setting the flag parser refuses on its own, named; else the whole file's
// error (settings that only clash together, such as domain equal to alt_domain).
Status CheckSettings(const std::vector<Setting>& settings) {
  Status all = CheckWithFlagParser(settings);
  if (all.ok()) return all;
  for (const Setting& setting : settings) {
    Status alone = CheckWithFlagParser({setting});
    if (!alone.ok()) return InvalidArgument(setting.key + ": " + alone.message());
  }
  return all;
}

bool IsRepeated(const std::string& flag) { return flag == "recursor" || flag == "dns-service-ttl"; }

}  // namespace

Status ReadDnsConfigFile(const std::string& name, std::string_view text, FileFlags* out) {
  auto fail = [&name](const Status& why) { return InvalidArgument(name + ": " + why.message()); };
  Result<Json> root = http::ParseJsonBody(text, kDepthMax);
  if (!root.ok()) return fail(root.status());
  if (!root->is_object()) return InvalidArgument(name + ": not a JSON object");
  std::vector<Setting> settings;
  if (Status read = ReadSettings(*root, &settings); !read.ok()) return fail(read);
  if (Status checked = CheckSettings(settings); !checked.ok()) return fail(checked);
  FileFlags file;
  for (const Setting& setting : settings) file[setting.flag].push_back(setting.value);
  for (auto& [flag, values] : file) {
    std::vector<std::string>& merged = (*out)[flag];
    if (!IsRepeated(flag)) merged.clear();
    merged.insert(merged.end(), values.begin(), values.end());
  }
  return Status::Ok();
}

Result<FileFlags> LoadDnsConfigFiles(const std::vector<std::string>& paths) {
  std::vector<std::filesystem::path> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      files.emplace_back(path);
      continue;
    }
    std::vector<std::filesystem::path> in_dir;
    for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        in_dir.push_back(entry.path());
      }
    }
    if (error) return IoError("cannot read " + path + ": " + error.message());
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  FileFlags flags;
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return IoError("cannot read config file " + file.string());
    RETURN_IF_ERROR(ReadDnsConfigFile(file.string(), text.str(), &flags));
  }
  return flags;
}

std::vector<std::string> WithFileFlags(const FileFlags& file_flags, const Flags& command_line,
                                       const std::vector<std::string>& args) {
  std::vector<std::string> merged;
  for (const auto& [flag, values] : file_flags) {
    if (command_line.Has(flag)) continue;
    for (const std::string& value : values) merged.push_back("-" + flag + "=" + value);
  }
  merged.insert(merged.end(), args.begin(), args.end());
  return merged;
}

Result<Flags> WithDnsConfigFiles(const std::string& source, const std::vector<std::string>& paths,
                                 const Flags& command_line, const std::vector<std::string>& args,
                                 const std::set<std::string>& value_flags,
                                 const std::set<std::string>& bool_flags) {
  Result<FileFlags> file_flags = LoadDnsConfigFiles(paths);
  if (!file_flags.ok()) {
    return Status(file_flags.status().code(), "-" + source + ": " + file_flags.status().message());
  }
  Result<Flags> merged =
      Flags::Parse(WithFileFlags(*file_flags, command_line, args), value_flags, bool_flags);
  CHECK(merged.ok()) << merged.status().message();  // the files' flags are known ones
  return merged;
}

}  // namespace roster::cli
