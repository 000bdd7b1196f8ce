package stream

import (
	"strings"

	"github.com/sidecar-mesh/mosn/internal/registry"
	"github.com/sidecar-mesh/mosn/pkg/network"
)

// Protocol is one protocol's stream layer: how to serve it on a downstream
// connection and how to pool upstream connections speaking it.
type Protocol struct {
	// Name is the canonical name ("Http1", "Http2", "bolt", "dubbo").
	Name string
	// Aliases are other names configs use for it ("SofaRpc" for bolt).
	Aliases []string
	// Serve installs the server stream connection on c.
	Serve func(c *network.Conn, l Limits, h ServerHandler)
	// NewPool makes an empty pool for one upstream host.
	NewPool func(o PoolOptions) ConnPool
}

var protocols = registry.New[*Protocol]("stream protocol")

// Register adds a protocol under its lower-cased name and aliases. Call it
// only from init.
func Register(p *Protocol) {
	protocols.Register(strings.ToLower(p.Name), p)
	for _, a := range p.Aliases {
		protocols.Register(strings.ToLower(a), p)
	}
}

// Lookup finds a protocol by any of its names, case-insensitively, as
// MOSN's configs write them.
func Lookup(name string) (*Protocol, bool) { return protocols.Lookup(strings.ToLower(name)) }

// Names are every registered name and alias, lower-cased and sorted.
func Names() []string { return protocols.Names() }
