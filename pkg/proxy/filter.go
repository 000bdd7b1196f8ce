package proxy

import (
	"encoding/json"
	"log/slog"

	"github.com/sidecar-mesh/mosn/internal/registry"
	"github.com/sidecar-mesh/mosn/pkg/accesslog"
	"github.com/sidecar-mesh/mosn/pkg/metrics"
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/router"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

// Deps are what network filters are built with.
type Deps struct {
	Clusters *upstream.Manager
	// Routers are the server's route tables by router_config_name.
	Routers router.Tables
	// AccessLogs are the listener's access logs.
	AccessLogs []*accesslog.Logger
	// StreamFilters are the listener's stream filters, in order.
	StreamFilters []StreamFilter
	// Stats count the listener's requests; nil counts none (benchmarks).
	Stats  *metrics.Downstream
	Logger *slog.Logger
}

// ChainFactory installs a configured filter's per-connection state on each
// new downstream connection. Install runs on the accepting path and must not
// block.
type ChainFactory interface {
	Install(c *network.Conn) error
}

// NetworkFilterFactory builds a ChainFactory from the filter's raw config
// (already validated by pkg/config where the filter is one of MOSN's own).
// path is the config's JSON path, for error messages.
type NetworkFilterFactory func(path string, raw json.RawMessage, deps Deps) (ChainFactory, error)

var networkFilters = registry.New[NetworkFilterFactory]("network filter")

// RegisterNetworkFilter makes a network filter available by its config
// type. Call it only from init; it panics on an empty or duplicate name.
func RegisterNetworkFilter(name string, f NetworkFilterFactory) { networkFilters.Register(name, f) }

// LookupNetworkFilter returns the factory registered under name.
func LookupNetworkFilter(name string) (NetworkFilterFactory, bool) {
	return networkFilters.Lookup(name)
}

// NetworkFilterNames returns the registered network filter types, sorted.
func NetworkFilterNames() []string { return networkFilters.Names() }
