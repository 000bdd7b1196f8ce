// Package config is the static JSON config of the proxy, in MOSN's v2 schema
// as MOSN users write it, decoded into plain Go structs and validated with
// problems that name the JSON path of what is wrong.
//
// # Layer
//
// config is a leaf: it imports only the standard library, and server (which
// builds runtime objects from a Config) and xds (which translates xDS
// resources into the same structs) import it. Runtime packages never see raw
// JSON, except the config of an extension, which reaches its factory as a
// json.RawMessage and is decoded there with Decode (or DecodeProxy,
// DecodeTCPProxy, DecodePrometheusSink).
//
// # Flow
//
//	config file ──Load──► bytes ──Parse──────────────────────────────────────────► *Config, Problems
//	                              Decode ─► SetDefaults ─► Validate ─► lift routers
//	xDS resources ──xds──► the same structs ─► SetDefaults ─► Validate
//	*Config (no errors) ──server──► listeners, filter chains, route tables, clusters
//
// Decode matches object keys to the `json` tags of the structs in any case,
// as encoding/json does (MOSN configs write both "name" and "Name"). It
// does not stop at the first problem: an unknown key is a warning ("unknown
// key, ignored"), a value of the wrong type or a key given twice is an
// error, and decoding goes on. SetDefaults fills in what is not set (each
// field's doc gives its default). Validate checks every value and every
// cross reference: routes and TCP proxies name clusters that exist, proxy
// filters name routers of their server, names and addresses are unique.
// Parse then moves the route tables of legacy connection_manager filters
// into Server.Routers and removes those filters, so later layers see one
// layout only.
//
// # Problems
//
// Every finding is a Problem with a JSON path, such as
//
//	servers[0].listeners[1].address: "127.0.0.1:99999": port out of range
//
// Parse and Load return them all at once, so that an operator fixes a config
// in one pass. Errors mean the config must not be applied (Problems.Err is
// not nil); warnings do not.
//
// # Main types
//
// Config holds Servers (one Server with its Listeners and Routers) and a
// ClusterManager (Clusters and their Hosts), plus Admin, Metrics and
// Tracing. A Listener has one FilterChain of network Filters; the proxy
// filter's config is a ProxyFilter, the tcp_proxy filter's a TCPProxy. A
// RouterConfig holds VirtualHosts of Routes. Durations are Duration strings
// such as "10s"; TCP proxy address ranges are AddrRange.
package config
