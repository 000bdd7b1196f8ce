package network

// IOModel decides how a connection's reads are driven: GoroutineModel (the
// default) or EventLoopModel. The connection's state, filters and write path
// are the same under every model.
type IOModel interface {
	// Start runs the read filters' OnNewConnection and begins delivering the
	// connection's bytes to them. It returns at once.
	Start(c *Conn)
}

// GoroutineModel gives each connection a goroutine that blocks in Go's
// runtime poller: the default, and the cheapest for a sidecar's few,
// busy connections. The goroutine holds no read buffer while it waits.
type GoroutineModel struct{}

var _ IOModel = GoroutineModel{}

// Start starts the connection's read goroutine.
func (GoroutineModel) Start(c *Conn) { go c.serve() }
