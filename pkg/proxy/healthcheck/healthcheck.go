// Package healthcheck is the stream filter "healthcheck" of MOSN's SOFARPC
// configs. In MOSN it intercepts the heartbeats bolt clients send and,
// with passthrough false, answers them itself. Here the RPC stream layer
// (pkg/stream/rpc) already answers every heartbeat before any filter sees
// it, so with passthrough false (the default) this filter has nothing left
// to do and passes every request on; it exists so that MOSN's configs that
// name it run unchanged.
//
// Layer: proxy (a stream filter). It imports config, protocol and proxy.
//
// Not supported, and reported so at start-up rather than ignored:
// passthrough true (forwarding heartbeats upstream, which would break the
// rule that the proxy never forwards them on shared connections) and
// cluster_min_healthy_percentages (answering heartbeats unhealthy when a
// cluster has too few healthy hosts).
package healthcheck

import (
	"encoding/json"
	"fmt"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/proxy"
)

func init() { proxy.RegisterStreamFilter("healthcheck", New) }

// Config is the filter's config, in MOSN's shape.
type Config struct {
	// Passthrough forwards heartbeats upstream instead of answering them.
	// Default false; true is not supported.
	Passthrough bool `json:"passthrough"`
	// CacheTime is how long MOSN caches the health it answers with, such
	// as "360s". Accepted and unused: heartbeats are answered from the
	// stream layer every time.
	CacheTime json.RawMessage `json:"cache_time"`
	// ClusterMinHealthyPercentages makes heartbeats fail while a cluster
	// has fewer healthy hosts than the percentage. Not supported.
	ClusterMinHealthyPercentages map[string]float64 `json:"cluster_min_healthy_percentages"`
}

// Filter is the configured filter: it changes nothing.
type Filter struct{}

var _ proxy.StreamFilter = Filter{}

// New builds the filter from its config.
func New(path string, raw json.RawMessage) (proxy.StreamFilter, error) {
	var c Config
	if len(raw) > 0 {
		if err := config.Decode(path, raw, &c).Err(); err != nil {
			return nil, err
		}
	}
	if c.Passthrough {
		return nil, fmt.Errorf("%s.passthrough: forwarding heartbeats: %w", path, proxy.ErrNotSupported)
	}
	if len(c.ClusterMinHealthyPercentages) > 0 {
		return nil, fmt.Errorf("%s.cluster_min_healthy_percentages: %w", path, proxy.ErrNotSupported)
	}
	return Filter{}, nil
}

// OnRequest passes every request on: heartbeats never get this far.
func (Filter) OnRequest(*protocol.Headers) (int, string) { return 0, "" }

// OnResponse does nothing.
func (Filter) OnResponse(*protocol.Headers) {}
