#include "store/types.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace roster::store {

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kKvs:
      return "kvs";
    case Table::kSessions:
      return "sessions";
    case Table::kNodes:
      return "nodes";
    case Table::kServices:
      return "services";
    case Table::kChecks:
      return "checks";
  }
  CHECK(false) << "unknown table " << static_cast<int>(table);
  return "";
}

void ChangeSet::AddKey(Table table, std::string key) {
  AddTable(table);
  keys.push_back(ChangedKey{table, std::move(key)});
}

void ChangeSet::AddKeyOnly(Table table, std::string key) {
  keys.push_back(ChangedKey{table, std::move(key)});
}

void ChangeSet::AddTable(Table table) {
  if (std::find(tables.begin(), tables.end(), table) == tables.end()) tables.push_back(table);
}

}  // namespace roster::store
