// Command dashboard draws the panels of configs/grafana-dashboard.json from
// a real run, for the README (Grafana itself is not installed here).
//
// It runs the whole chain on loopback, bounded in time: three net/http
// backends (one fast, one that fails now and then, one slow), the proxy
// in-process with an admin listener, a real Prometheus (Debian's package)
// scraping the admin listener every second, and a load of mixed requests
// for -duration. Then it runs every panel's PromQL over the run through
// Prometheus's query_range API — the very expressions of the dashboard,
// with $__rate_interval and the $listener/$cluster variables substituted —
// and plots each panel with gonum/plot into one PNG.
//
//	cd test/dashboard && go run . -duration 90s -out ../../docs/dashboard.png
//
// It is a module of its own so that the plotting library stays out of the
// proxy's dependencies.
package main
