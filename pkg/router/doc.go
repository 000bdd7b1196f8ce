// Package router holds route tables: built once from a validated
// config.RouterConfig, they pick a route for each request with no lock and
// no allocation.
//
// # Layer
//
// router imports only pkg/protocol (the Headers it reads and rewrites) and
// pkg/config (the route config structs it is built from), plus the standard
// library. It knows nothing of clusters, hosts or connections: a route
// returns a cluster *name*, and the proxy asks pkg/upstream for that cluster
// and a host of it. Neither router nor upstream imports the other.
//
//	         config.RouterConfig ──New──► *Table          (once per config change;
//	  []config.RouterConfig ──NewTables──► Tables           a change builds new ones)
//
//	proxy:  request headers ──Table.Match──► *Route ──┬─ PickCluster ──► "cluster name" ──► upstream
//	                                         (or nil:  ├─ Redirect / DirectResponse ──► local reply
//	                                          404)     ├─ Timeout, Retries, Mirror, MetadataMatch, ...
//	                                                   ├─ RewriteRequest(upstream request headers)
//	                                                   └─ RewriteResponse(response headers)
//
// # Main types
//
// Table is one route table (one router_config_name); Tables are a server's
// tables by name. A Table holds virtual hosts, each with Routes in config
// order. Route is what Match returns: its Action (forward, redirect, direct
// response), how to pick the cluster, the timeouts, retry and mirror
// policies, and the rewrites. All of them are immutable after New, so
// Match, Pick and the Rewrite methods may run on any number of goroutines at
// once; a config update builds new Tables and swaps them in.
//
// # Choosing the virtual host
//
// The request's authority is ":authority", else (HTTP/1) "host", compared
// case-insensitively. Domains are tried with Envoy's precedence:
//
//  1. exact domains ("example.com");
//  2. suffix wildcards ("*.example.com", "*-dev.example.com"), longest first;
//  3. prefix wildcards ("example.*", "cache*"), longest first;
//  4. "*", which also takes requests without an authority.
//
// A wildcard never matches the empty string. A domain with a port matches
// that host:port only; a domain without one matches the host with any port
// (or none): "example.com:8080" reaches domain "example.com" unless a domain
// "example.com:8080" exists. Within each tier, the authority as given is
// tried before the authority without its port. Domains are precomputed into
// maps by tier and length, so a lookup lower-cases the authority into a
// stack buffer and does a few map lookups, allocating nothing.
//
// # Matching routes
//
// Routes are tried in order and the first that matches wins. A route
// matches when its path matcher, if any, and all its header matchers hold:
//
//   - prefix: the path starts with it; path: the path equals it; regex: it
//     matches the whole path (Go RE2, compiled once). The path is :path
//     without its query string or fragment, compared case-sensitively. A
//     request without :path (RPC) matches only routes without a path
//     matcher.
//   - headers: each must be present, with the first value of a repeated
//     header equal to value (case-sensitively), or with regex true, matched
//     as a whole by it. As in MOSN's RPC configs, a value of exactly ".*"
//     without regex matches any value of a present header. Names compare
//     case-insensitively; pseudo-headers (":path", ":method") work, and
//     ":authority" or "host" read the request's authority as above.
//   - a route without matchers matches every request.
//
// # Rewrites
//
// RewriteRequest rewrites the path (prefix_rewrite or regex_rewrite, query
// kept), then the authority (host_rewrite or auto_host_rewrite_header), then
// edits headers route first, then virtual host, then table (Envoy's default
// order), removals before additions within each level. RewriteResponse does
// the same for response headers. See RewriteRequest for the details.
//
// # Unsupported config
//
// New never ignores a field it cannot run: it fails with an error naming
// the field's JSON path, wrapping ErrNotSupported. These are route
// hash_policy (no consistent-hash load balancer), a virtual host's
// require_tls other than "NONE", router_configs (a directory of virtual
// host files), and metadata under filter_metadata keys other than "mosn.lb".
// Metadata label values must be strings (MOSN silently drops others; New
// reports them as errors). Fields that only a forwarding route uses
// (timeout, retry_policy, rewrites, ...) are an error on a redirect or direct
// response route. Header values are literal: "%VAR%" is not expanded (as in
// MOSN; Envoy would expand it).
package router
