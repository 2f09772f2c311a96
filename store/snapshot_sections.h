// The snapshot's table sections, one file per table where a section is large
// (store/snapshot_catalog.cc). The layout is in docs/design/store.md.
// Internal to store/. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/catalog.h"

namespace roster::store::internal {

std::string WriteCatalogSection(const CatalogTable& catalog);
// Reads a catalog section written by snapshot `version` (2 and up). Corruption on
// truncation, disorder, trailing bytes or contents CatalogTable::FromParts refuses.
Result<CatalogTable> ReadCatalogSection(std::string_view body, std::uint8_t version);

}  // namespace roster::store::internal
