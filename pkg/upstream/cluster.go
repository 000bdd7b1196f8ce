package upstream

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/hwaccel"
	"github.com/sidecar-mesh/mosn/pkg/metrics"
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// ErrCircuitOpen is returned by NewConn when the cluster is at its
// max_connections circuit breaker.
var ErrCircuitOpen = errors.New("circuit breaker open: cluster at max_connections")

// ErrNoHealthyHost says a cluster has no host to offer.
var ErrNoHealthyHost = errors.New("no healthy host")

// HostOptions describe one upstream host.
type HostOptions struct {
	Address  string // "IP:PORT" or "name:PORT"
	Weight   uint32 // 1..128; 0 means 1
	Metadata map[string]string
}

// Host is one upstream endpoint of a cluster.
type Host struct {
	HostOptions
	cluster *Cluster
	stats   HostStats
	pools   sync.Map    // protocol name → stream.ConnPool
	removed atomic.Bool // left its cluster: its pools are closed
}

// Pool returns the host's connection pool for a protocol, made with newPool
// the first time it is asked for.
func (h *Host) Pool(protocol string, newPool func(*Host) stream.ConnPool) stream.ConnPool {
	if p, ok := h.pools.Load(protocol); ok {
		return p.(stream.ConnPool)
	}
	// Racing first requests may each make a pool; one wins, and the others
	// are dropped before they have made any connection.
	p, _ := h.pools.LoadOrStore(protocol, newPool(h))
	pool := p.(stream.ConnPool)
	if h.removed.Load() {
		// Made as the host left: closePools may not have seen it.
		pool.Close()
	}
	return pool
}

// closePools closes every pool of a host that left its cluster; their
// NewStream fails with stream.ErrPoolClosed from then on.
func (h *Host) closePools() {
	h.removed.Store(true)
	h.pools.Range(func(_, p any) bool {
		p.(stream.ConnPool).Close()
		return true
	})
}

// HostStats count one host's connections and requests.
type HostStats struct {
	ConnectionTotal   atomic.Int64
	ConnectionActive  atomic.Int64
	ConnectionConFail atomic.Int64
	// RequestActive is the number of requests in flight to the host, which
	// the least-request load balancer reads.
	RequestActive atomic.Int64
	Requests      metrics.Requests // upstream tries to the host by outcome
}

// Cluster is the host's cluster.
func (h *Host) Cluster() *Cluster { return h.cluster }

// Stats are the host's counters.
func (h *Host) Stats() *HostStats { return &h.stats }

// ClusterOptions configure a cluster.
type ClusterOptions struct {
	Name string
	// LB names a registered load balancer (LBRandom, LBRoundRobin, …).
	LB    string
	Hosts []HostOptions
	// ConnectTimeout bounds a connect; 0 means no bound.
	ConnectTimeout time.Duration
	// BufferLimit is each upstream connection's write-queue limit
	// (conn_buffer_limit_bytes).
	BufferLimit int
	// IdleTimeout closes upstream connections idle this long; 0 means never.
	IdleTimeout time.Duration
	// MaxConnections is the circuit breaker on open connections to the whole
	// cluster; 0 means unlimited.
	MaxConnections int
	// MaxRequestsPerConn closes a pooled connection after this many
	// requests (max_request_per_conn); 0 means unlimited.
	MaxRequestsPerConn int
	// MaxRequests is the circuit breaker on requests in flight to the
	// cluster; 0 means unlimited.
	MaxRequests int
	// MaxRetries is the circuit breaker on retries in flight; 0 means
	// unlimited.
	MaxRetries int
}

// ClusterStats count a cluster's upstream connections, under MOSN's metric
// names (upstream_ prefix and cluster label added by the exporter).
type ClusterStats struct {
	network.IOStats                     // connection bytes read/written
	ConnectionTotal        atomic.Int64 // connection_total
	ConnectionActive       atomic.Int64 // connection_active
	ConnectionConFail      atomic.Int64 // connection_con_fail
	ConnectionLocalClose   atomic.Int64 // connection_local_close
	ConnectionRemoteClose  atomic.Int64 // connection_remote_close
	ConnectionOverflow     atomic.Int64 // refused by the max_connections circuit breaker
	RequestActive          atomic.Int64 // request_active
	RequestPendingOverflow atomic.Int64 // request_pending_overflow: refused by max_requests
	RetryActive            atomic.Int64 // retries in flight
	RequestRetryOverflow   atomic.Int64 // request_retry_overflow: refused by max_retries

	// Upstream tries by outcome, and their duration (request_duration_time).
	Requests        metrics.Requests
	RequestDuration metrics.Histogram
}

// admit counts one more in gauge unless that would pass max (0 = no
// limit), counting the refusal in overflow.
func admit(gauge, overflow *atomic.Int64, max int) bool {
	if n := gauge.Add(1); max > 0 && n > int64(max) {
		gauge.Add(-1)
		overflow.Add(1)
		return false
	}
	return true
}

// AcquireRequest admits a request under the max_requests circuit breaker;
// a true result must be matched by ReleaseRequest.
func (c *Cluster) AcquireRequest() bool {
	return admit(&c.stats.RequestActive, &c.stats.RequestPendingOverflow, c.opts.Load().MaxRequests)
}

// ReleaseRequest ends a request admitted by AcquireRequest.
func (c *Cluster) ReleaseRequest() { c.stats.RequestActive.Add(-1) }

// AcquireRetry admits a retry under the max_retries circuit breaker; a true
// result must be matched by ReleaseRetry.
func (c *Cluster) AcquireRetry() bool {
	return admit(&c.stats.RetryActive, &c.stats.RequestRetryOverflow, c.opts.Load().MaxRetries)
}

// ReleaseRetry ends a retry admitted by AcquireRetry.
func (c *Cluster) ReleaseRetry() { c.stats.RetryActive.Add(-1) }

// hostSet is what a pick reads: replaced whole on update, never modified.
type hostSet struct {
	hosts []*Host
	lb    LoadBalancer
}

// Cluster is a named group of hosts. Safe for concurrent use.
type Cluster struct {
	opts  atomic.Pointer[ClusterOptions]
	set   atomic.Pointer[hostSet]
	stats ClusterStats
	pio   hwaccel.PacketIO
	model network.IOModel // drives upstream reads; nil: goroutine per connection
	log   *slog.Logger
}

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.opts.Load().Name }

// Stats are the cluster's counters.
func (c *Cluster) Stats() *ClusterStats { return &c.stats }

// Hosts returns the current hosts; the slice must not be modified.
func (c *Cluster) Hosts() []*Host { return c.set.Load().hosts }

// MaxRequestsPerConn is how many requests a pooled connection carries.
func (c *Cluster) MaxRequestsPerConn() int { return c.opts.Load().MaxRequestsPerConn }

// ConnectTimeout is the cluster's connect timeout.
func (c *Cluster) ConnectTimeout() time.Duration { return c.opts.Load().ConnectTimeout }

// ChooseHost picks a host with the cluster's load balancer, without locks;
// nil when the cluster has no hosts.
func (c *Cluster) ChooseHost() *Host { return c.set.Load().lb.Pick() }

// update installs opts: a new host set, built before it is swapped in.
func (c *Cluster) update(opts ClusterOptions) error {
	newLB, ok := LookupLB(opts.LB)
	if !ok {
		return fmt.Errorf("cluster %q: load balancer %q not supported yet", opts.Name, opts.LB)
	}
	// A host that stays (same address and options) keeps its object, and
	// with it its stats and pooled connections; the others are closed.
	kept := map[hostKey]*Host{}
	if old := c.set.Load(); old != nil {
		for _, h := range old.hosts {
			kept[h.key()] = h
		}
	}
	hosts := make([]*Host, len(opts.Hosts))
	for i, ho := range opts.Hosts {
		if ho.Weight == 0 {
			ho.Weight = 1
		}
		h := &Host{HostOptions: ho, cluster: c}
		if old, ok := kept[h.key()]; ok {
			h = old
			delete(kept, h.key())
		}
		hosts[i] = h
	}
	c.opts.Store(&opts)
	c.set.Store(&hostSet{hosts: hosts, lb: newLB(hosts)})
	for _, gone := range kept {
		gone.closePools()
	}
	return nil
}

// hostKey identifies a host across updates.
type hostKey struct {
	address string
	weight  uint32
}

func (h *Host) key() hostKey { return hostKey{h.Address, h.Weight} }

// NewConn makes an unconnected connection to h, counted against the
// cluster's circuit breaker and stats. The caller adds its filters and
// listeners and calls Connect(c.ConnectTimeout()).
func (c *Cluster) NewConn(h *Host) (*network.Conn, error) {
	opts := c.opts.Load()
	if !admit(&c.stats.ConnectionActive, &c.stats.ConnectionOverflow, opts.MaxConnections) {
		return nil, ErrCircuitOpen
	}
	c.stats.ConnectionTotal.Add(1)
	h.stats.ConnectionTotal.Add(1)
	h.stats.ConnectionActive.Add(1)
	conn := network.NewClientConn(h.Address, c.pio, network.Options{
		BufferLimit: opts.BufferLimit,
		IdleTimeout: opts.IdleTimeout,
		Stats:       &c.stats.IOStats,
		Model:       c.model,
		Logger:      c.log,
	})
	conn.AddEventListener(connStats{h})
	return conn, nil
}

// connStats counts an upstream connection's end in its host and cluster.
type connStats struct{ h *Host }

func (s connStats) OnEvent(_ *network.Conn, e network.Event) {
	if !e.IsClose() {
		return
	}
	cs := &s.h.cluster.stats
	switch e {
	case network.EventConnectFailed, network.EventConnectTimeout:
		cs.ConnectionConFail.Add(1)
		s.h.stats.ConnectionConFail.Add(1)
	case network.EventLocalClose:
		cs.ConnectionLocalClose.Add(1)
	case network.EventRemoteClose:
		cs.ConnectionRemoteClose.Add(1)
	}
	cs.ConnectionActive.Add(-1)
	s.h.stats.ConnectionActive.Add(-1)
}

// Manager holds the clusters by name. Reads take no lock; updates are
// serialised and swap in a new map.
type Manager struct {
	pio      hwaccel.PacketIO
	model    network.IOModel
	log      *slog.Logger
	mu       sync.Mutex // serialises updates
	clusters atomic.Pointer[map[string]*Cluster]
}

// NewManager makes an empty manager whose clusters connect through pio (nil
// means the kernel's sockets).
func NewManager(pio hwaccel.PacketIO, log *slog.Logger) *Manager {
	if pio == nil {
		pio = hwaccel.Kernel{}
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{pio: pio, log: log.With("component", "upstream")}
	m.clusters.Store(&map[string]*Cluster{})
	return m
}

// SetIOModel makes model drive the reads of the connections of clusters
// added from now on (nil: a goroutine per connection). Call before adding
// clusters.
func (m *Manager) SetIOModel(model network.IOModel) { m.model = model }

// Get returns the named cluster, or nil.
func (m *Manager) Get(name string) *Cluster { return (*m.clusters.Load())[name] }

// Names returns the cluster names, sorted.
func (m *Manager) Names() []string {
	return slices.Sorted(maps.Keys(*m.clusters.Load()))
}

// AddOrUpdate adds a cluster, or replaces an existing one's hosts and
// settings in place: its stats carry on, and connections already made stay
// with the hosts they were made to.
func (m *Manager) AddOrUpdate(opts ClusterOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.Get(opts.Name); c != nil {
		return c.update(opts)
	}
	c := &Cluster{pio: m.pio, model: m.model, log: m.log.With("cluster", opts.Name)}
	if err := c.update(opts); err != nil {
		return err
	}
	next := maps.Clone(*m.clusters.Load())
	next[opts.Name] = c
	m.clusters.Store(&next)
	return nil
}

// Remove drops a cluster; connections already made to it carry on.
func (m *Manager) Remove(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Get(name) == nil {
		return
	}
	next := maps.Clone(*m.clusters.Load())
	delete(next, name)
	m.clusters.Store(&next)
}
