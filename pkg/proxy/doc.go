// Package proxy is the top of the four layers: it forwards what downstream
// connections carry to upstream hosts and back.
//
// It may import every layer below (network, protocol, stream) and the two
// plug-ins beside it (router, upstream); only cmd/ and pkg/server import it.
// This package holds the registry of network filters — the things a
// listener's filter chain names in its config ("tcp_proxy", and the L7
// "proxy" as it lands) — and the dependencies they are built with. Each
// filter lives in its own sub-package and registers itself from init; the
// binary chooses which are compiled in (cmd/mosn/imports.go).
//
//	listener filter_chains[0].filters ──► NetworkFilter(type)(config, Deps)
//	                                       └─► ChainFactory.Install(conn) per connection
package proxy
