// Decoding request bodies the way Consul's Go code does (encoding/json), because that
// is what Consul clients expect of a body they send (consul-api.md §0, "Request JSON
// decoding"): field names match without regard to ASCII case ("lockdelay" is
// LockDelay), unknown fields are ignored, a null leaves a field at its default, and a
// []byte field is standard base64. Errors carry Go's wording ("json: cannot unmarshal
// number into Go struct field Session.Name of type string") so that the 400 bodies
// read like Consul's.
//
// Pure functions over nlohmann::ordered_json values; no I/O. Used by the session and
// transaction body parsers, which the fuzzer drives (tests/fuzz/http_bodies_fuzz.cc).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "http/json_mapping.h"

namespace roster::http {

// Parses a request body. Fails (InvalidArgument, nlohmann's message) on malformed
// JSON, and, before parsing, on arrays and objects nested deeper than depth_max, so a
// hostile body cannot make the parser build a million nested values.
Result<Json> ParseJsonBody(std::string_view body, std::size_t depth_max);

// The member of `object` named `name`: an exact match if there is one, else the first
// ASCII case-insensitive match (Go's rule); nullptr when there is none. A null member
// is returned: Go leaves a scalar field as it was but sets a list to nil.
// REQUIRES: object.is_object().
const Json* FindField(const Json& object, std::string_view name);

// Go's name for a JSON value's kind in its unmarshal errors: "string", "number",
// "bool", "array", "object".
std::string_view GoJsonKind(const Json& value);

// InvalidArgument "json: cannot unmarshal <kind> into Go struct field <field> of type
// <go_type>". `field` is the dotted Go path ("Session.Name").
Status UnmarshalTypeError(const Json& value, std::string_view field, std::string_view go_type);

// Typed reads of a field found with FindField. Each leaves *out untouched when value is
// nullptr (absent) and fails with UnmarshalTypeError on the wrong kind. A null leaves a
// string or number untouched and empties a list, as in Go.
Status DecodeString(const Json* value, std::string_view field, std::string* out);
// A non-negative integer that fits 64 bits ("Flags", "Index"); Go refuses 1.5 and -1.
Status DecodeUint64(const Json* value, std::string_view field, std::uint64_t* out);
// A list of strings; JSON null gives an empty list (Go's nil slice).
Status DecodeStringList(const Json* value, std::string_view field, std::vector<std::string>* out);
// A Go bool.
Status DecodeBool(const Json* value, std::string_view field, bool* out);
// A Go int (64 bits): an integral number; Go refuses 1.5 and 1e30.
Status DecodeInt64(const Json* value, std::string_view field, std::int64_t* out);
// A Go map[string]string; JSON null gives an empty map, a null member "".
Status DecodeStringMap(const Json* value, std::string_view field,
                       std::map<std::string, std::string, std::less<>>* out);

// Go's base64.StdEncoding.DecodeString: padding required, '\r' and '\n' skipped.
// InvalidArgument "illegal base64 data at input byte <n>" otherwise.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace roster::http
