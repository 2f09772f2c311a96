// The JSON shapes of the catalog and health types, field for field as Consul's
// agent/structs writes them (consul-api.md §1, "Data shapes"): Node, NodeService,
// ServiceNode (the flattened catalog row), HealthCheck (with its Definition) and
// CheckServiceNode. Empty lists are [] and empty maps {}; fields Consul marks omitempty
// (a NodeService's Port, TaggedAddresses) are left out when empty. Plain services only:
// Proxy and Connect are Consul's empty values.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "http/json_mapping.h"
#include "store/catalog.h"

namespace roster::http {

// {ID, Node, Address, Datacenter, TaggedAddresses, Meta, CreateIndex, ModifyIndex}
Json NodeJson(const store::Node& node);
// {ID, Service, Tags, Address, TaggedAddresses?, Meta, Port?, Weights, EnableTagOverride,
//  Proxy, Connect, CreateIndex, ModifyIndex}
Json NodeServiceJson(const store::NodeService& service);
// {ID, Node, Address, Datacenter, TaggedAddresses, NodeMeta, ServiceKind, ServiceID,
//  ServiceName, ServiceTags, ServiceAddress, ServiceTaggedAddresses?, ServiceWeights,
//  ServiceMeta, ServicePort, ServiceEnableTagOverride, ServiceProxy, ServiceConnect,
//  CreateIndex, ModifyIndex}: the node's fields, then the service's with its indexes.
Json ServiceNodeJson(const store::Node& node, const store::NodeService& service);
// {Node, CheckID, Name, Status, Notes, Output, ServiceID, ServiceName, ServiceTags, Type,
//  Definition, CreateIndex, ModifyIndex}. service_tags are the tags of the check's
// service (empty for a node check).
Json HealthCheckJson(const store::HealthCheck& check,
                     const std::vector<std::string>& service_tags);
// {Interval, Timeout, DeregisterCriticalServiceAfter} as Go durations ("10s", "0s"),
// then HTTP, TLSServerName, TLSSkipVerify, Header, Method, Body, TCP, ScriptArgs and
// TTL when set.
Json CheckDefinitionJson(const store::CheckDefinition& definition);

}  // namespace roster::http
