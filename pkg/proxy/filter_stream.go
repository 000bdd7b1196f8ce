package proxy

import (
	"encoding/json"
	"errors"

	"github.com/sidecar-mesh/mosn/internal/registry"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// ErrNotSupported marks a configured feature this build cannot run yet; the
// config layer reports it as such rather than as an error in the config.
var ErrNotSupported = errors.New("not supported yet")

// StreamFilter sees each request before it is routed, and each response
// before it is sent downstream. One is made per listener and shared by all
// its requests, concurrently.
type StreamFilter interface {
	// OnRequest may edit the request headers. A non-zero status answers the
	// request locally with that status and body instead of proxying it.
	OnRequest(h *protocol.Headers) (status int, body string)
	// OnResponse may edit the response headers.
	OnResponse(h *protocol.Headers)
}

// StreamFilterFactory builds a stream filter from its raw config at path.
type StreamFilterFactory func(path string, raw json.RawMessage) (StreamFilter, error)

var streamFilters = registry.New[StreamFilterFactory]("stream filter")

// RegisterStreamFilter makes a stream filter available by its config type.
// Call it only from init.
func RegisterStreamFilter(name string, f StreamFilterFactory) { streamFilters.Register(name, f) }

// LookupStreamFilter returns the factory registered under name.
func LookupStreamFilter(name string) (StreamFilterFactory, bool) { return streamFilters.Lookup(name) }
