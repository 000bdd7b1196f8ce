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
	// HTTP marks HTTP semantics: the proxy strips hop-by-hop fields from
	// its requests and adds X-Forwarded-For and X-Forwarded-Proto.
	HTTP bool
	// Serve installs the server stream connection on c.
	Serve func(c *network.Conn, l Limits, h ServerHandler)
	// NewPool makes an empty pool for one upstream host.
	NewPool func(o PoolOptions) ConnPool
	// Among is set only by a protocol that detects others from a
	// connection's first bytes (Auto): it returns one that detects only
	// the protocols named. Lookup uses it for a comma-separated list.
	Among func(names []string) (*Protocol, error)
}

// Chooser is implemented by a ServerHandler that wants to know which
// protocol a detecting protocol chose for its connection: Serve calls
// Choose once, on the connection's read goroutine, before the first
// NewStream.
type Chooser interface {
	Choose(p *Protocol)
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
// MOSN's configs write them. A comma-separated list ("Http1,Http2") is the
// protocol registered as "Auto", narrowed to the protocols listed.
func Lookup(name string) (*Protocol, bool) {
	if strings.Contains(name, ",") {
		auto, ok := protocols.Lookup("auto")
		if !ok || auto.Among == nil {
			return nil, false
		}
		p, err := auto.Among(strings.Split(name, ","))
		return p, err == nil
	}
	return protocols.Lookup(strings.ToLower(name))
}

// Names are every registered name and alias, lower-cased and sorted.
func Names() []string { return protocols.Names() }
