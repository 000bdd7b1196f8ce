// Package admin is the proxy's admin HTTP API and its Prometheus endpoint.
//
// It is a leaf beside metrics and log: it imports those two, the standard
// library and client_golang, and nothing of the data path. What it shows
// comes from the running objects through one small interface, Runtime,
// which the assembly package (pkg/server) implements: the effective config
// (rebuilt from the runtime objects, secrets redacted), a metrics.Sample,
// and the process state. Nothing here writes back into a config store.
//
//	GET  /                       help: this list
//	GET  /api/v1/version         build version
//	GET  /api/v1/config_dump     effective config; ?listener= ?cluster= ?router= pick one item
//	GET  /api/v1/stats           counters as JSON; ?key= keeps the metrics whose name starts with it
//	GET  /api/v1/get_loglevel    the error log's level
//	POST /api/v1/update_loglevel {"log_level": "DEBUG"} changes it at once
//	GET  /api/v1/states          process state, pid, uptime
//	GET  /api/v1/clusters        clusters and hosts with health and counters
//	GET  /ready, /healthz        readiness (200 once serving) and liveness
//	GET  /metrics                Prometheus text format
//
// Malformed requests (unknown query parameters, bad bodies, wrong methods)
// are answered 400 (405 for a method) with the reason as JSON
// {"error": "..."}. The server binds the address it is given — the config's
// admin.address, which the examples set to 127.0.0.1 — and nothing else.
//
// NewSink serves only /metrics (or another path) on its own port, for
// MOSN's metrics.sinks[{type: "prometheus"}].
package admin
