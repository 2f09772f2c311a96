#include "cli/flags.h"

#include <cerrno>
#include <cstdlib>

namespace roster::cli {

Result<Flags> Flags::Parse(const std::vector<std::string>& args,
                           const std::set<std::string>& value_flags,
                           const std::set<std::string>& bool_flags) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-' || !flags.positional_.empty()) {
      flags.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags.positional_.insert(flags.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (bool_flags.count(name)) {
      if (has_value && value != "true" && value != "false") {
        return InvalidArgument("flag -" + name + " takes true or false, not \"" + value + "\"");
      }
      flags.values_[name].push_back(has_value ? value : "true");
    } else if (value_flags.count(name)) {
      if (!has_value) {
        if (i + 1 >= args.size()) return InvalidArgument("flag -" + name + " needs a value");
        value = args[++i];
      }
      flags.values_[name].push_back(value);
    } else {
      return InvalidArgument("unknown flag -" + name);
    }
  }
  return flags;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<long long> Flags::GetInt(const std::string& name, long long fallback) const {
  if (!Has(name)) return fallback;
  const std::string text = Get(name);
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    return InvalidArgument("flag -" + name + " needs a whole number, not \"" + text + "\"");
  }
  return value;
}

bool Flags::GetBool(const std::string& name) const { return Get(name, "false") == "true"; }

}  // namespace roster::cli
