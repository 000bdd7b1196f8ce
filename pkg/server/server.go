// Package server is where config becomes running objects: it builds the
// cluster manager, the network filters and the listeners from a validated
// config.Config, binds them, and drains and stops them.
//
// It is the one assembly point: it imports config and every runtime layer,
// and only cmd/ imports it. Build binds nothing, so a config that cannot run
// is refused before any port is taken; Start binds every listener or none.
//
//	config.Config ──► Build ──► upstream.Manager, network.Listener + proxy filters,
//	                            admin.Server + metrics sinks (reading the Server as
//	                            admin.Runtime and metrics.Source)
//	                              └─► Start (bind all, serve) ─► Shutdown (drain) / Close
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sidecar-mesh/mosn/pkg/accesslog"
	"github.com/sidecar-mesh/mosn/pkg/admin"
	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/hwaccel"
	"github.com/sidecar-mesh/mosn/pkg/metrics"
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/proxy"
	"github.com/sidecar-mesh/mosn/pkg/router"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

// Options are the server's dependencies.
type Options struct {
	Logger   *slog.Logger     // nil means slog.Default()
	PacketIO hwaccel.PacketIO // nil means the kernel's sockets
	// LogLevel is the level of Logger, which the admin API reads and
	// changes; nil means a level of the server's own, set from the config.
	LogLevel *slog.LevelVar
	// Version is the build version the admin API and mosn_build_info report.
	Version string
	// DisableStats builds the proxy filters without request counters, to
	// measure what counting costs; connection counters stay.
	DisableStats bool
}

// Server owns the runtime objects built from one config.
type Server struct {
	log       *slog.Logger
	clusters  *upstream.Manager
	listeners []*network.Listener
	graceful  time.Duration
	ioModel   *network.EventLoopModel // use_netpoll_mode; nil when no server asks

	accessLogs []*accesslog.Logger

	// Observability: request counters by listener (parallel to
	// listeners), the registry they are exported from, the admin server and
	// the metrics sinks, the state the admin API reports, and the config
	// each object was built from, for the config dump.
	reqStats []*metrics.Downstream
	registry *prometheus.Registry
	admin    *admin.Server
	sinks    []*admin.Server
	pprof    *admin.Server // Go's profiling endpoints, with pprof.debug
	state    atomic.Uint32 // admin.State
	level    *slog.LevelVar
	logPath  string
	built    builtFrom

	closeOnce sync.Once
}

// builtFrom is the config the runtime objects were built from.
type builtFrom struct {
	name, pid string
	processor int
	admin     *config.Admin
	metrics   *config.Metrics
	listeners []config.Listener // parallel to Server.listeners
	routers   []*config.RouterConfig
	clusters  map[string]config.Cluster
}

// closeLogs flushes and closes the access logs.
func (s *Server) closeLogs() {
	for _, l := range s.accessLogs {
		l.Close()
	}
}

// ReopenLogs reopens the access log files (after log rotation moved them).
func (s *Server) ReopenLogs() error {
	var errs []error
	for _, l := range s.accessLogs {
		errs = append(errs, l.Reopen())
	}
	return errors.Join(errs...)
}

// Build makes the runtime objects for a validated cfg without binding
// anything. Features of MOSN's schema that this build cannot run yet come
// back as SeverityUnsupported problems naming their JSON path; anything else
// that fails to build is SeverityError. On any such problem the Server is nil.
func Build(cfg *config.Config, opts Options) (*Server, config.Problems) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var ps config.Problems
	checkTopLevel(cfg, &ps)

	clusters := upstream.NewManager(opts.PacketIO, opts.Logger)
	ioModel := buildIOModel(cfg, &ps)
	if ioModel != nil {
		clusters.SetIOModel(ioModel)
	}
	for i := range cfg.ClusterManager.Clusters {
		buildCluster(&cfg.ClusterManager.Clusters[i], fmt.Sprintf("cluster_manager.clusters[%d]", i), clusters, &ps)
	}

	s := &Server{log: opts.Logger.With("component", "server"), clusters: clusters, ioModel: ioModel, level: opts.LogLevel}
	s.recordConfig(cfg)
	for si := range cfg.Servers {
		srv := &cfg.Servers[si]
		path := fmt.Sprintf("servers[%d]", si)
		var model network.IOModel
		if srv.UseNetpollMode && ioModel != nil {
			model = ioModel
		}
		s.graceful = srv.GracefulTimeout.D()
		tables, err := router.NewTables(srv.Routers)
		if err != nil {
			report(&ps, path+".routers", err)
		}
		deps := proxy.Deps{Clusters: clusters, Routers: tables, Logger: opts.Logger}
		for li := range srv.Listeners {
			lpath := fmt.Sprintf("%s.listeners[%d]", path, li)
			if !opts.DisableStats {
				deps.Stats = new(metrics.Downstream)
			}
			if l := s.buildListener(&srv.Listeners[li], lpath, deps, model, opts, &ps); l != nil {
				s.listeners = append(s.listeners, l)
				s.reqStats = append(s.reqStats, deps.Stats)
				s.built.listeners = append(s.built.listeners, srv.Listeners[li])
			}
		}
	}
	s.buildObservability(cfg, opts, &ps)
	if len(ps.Errors())+len(ps.Unsupported()) > 0 {
		s.closeLogs()
		s.closeIOModel()
		return nil, ps
	}
	return s, ps
}

// buildIOModel starts the event loops when a server sets use_netpoll_mode:
// one set, one loop per processor (that server's "processor", else
// GOMAXPROCS), for those servers' listeners and for every cluster's upstream
// connections (clusters are shared by all servers).
func buildIOModel(cfg *config.Config, ps *config.Problems) *network.EventLoopModel {
	for si := range cfg.Servers {
		if !cfg.Servers[si].UseNetpollMode {
			continue
		}
		m, err := network.NewEventLoopModel(cfg.Servers[si].Processor)
		if err != nil {
			ps.Unsupportedf(fmt.Sprintf("servers[%d].use_netpoll_mode", si), "true on %s: %v", runtime.GOOS, err)
			return nil
		}
		return m
	}
	return nil
}

// closeIOModel stops the event loops, closing what is left on them.
func (s *Server) closeIOModel() {
	if s.ioModel != nil {
		s.ioModel.Close()
	}
}

// report adds err at path: as a feature not supported yet when it says so,
// else as an error.
func report(ps *config.Problems, path string, err error) {
	if errors.Is(err, proxy.ErrNotSupported) || errors.Is(err, router.ErrNotSupported) {
		// The problem's severity already says "not supported yet".
		msg := strings.TrimSuffix(strings.TrimSuffix(err.Error(), ": "+proxy.ErrNotSupported.Error()), ": "+router.ErrNotSupported.Error())
		ps.Unsupportedf(path, "%s", msg)
		return
	}
	ps.Errorf(path, "%v", err)
}

func checkTopLevel(cfg *config.Config, ps *config.Problems) {
	if len(cfg.DynamicResources) > 0 {
		ps.Unsupportedf("dynamic_resources", "xDS; configure servers and cluster_manager statically")
	}
	if len(cfg.StaticResources) > 0 {
		ps.Unsupportedf("static_resources", "xDS bootstrap resources; configure servers and cluster_manager statically")
	}
	if cfg.Tracing != nil && cfg.Tracing.Enable {
		ps.Unsupportedf("tracing.enable", "tracing")
	}
}

// present reports whether a raw config slot holds anything but null or {}.
func present(raw json.RawMessage) bool {
	switch string(raw) {
	case "", "null", "{}":
		return false
	}
	return true
}

func buildCluster(c *config.Cluster, path string, m *upstream.Manager, ps *config.Problems) {
	before := len(*ps)
	switch c.Type {
	case "SIMPLE", "STATIC":
	default:
		ps.Unsupportedf(path+".type", "%q clusters (SIMPLE and STATIC run)", c.Type)
	}
	if _, ok := upstream.LookupLB(c.LbType); !ok {
		ps.Unsupportedf(path+".lb_type", "%q (these run: %s)", c.LbType, strings.Join(upstream.LBNames(), ", "))
	}
	if c.HealthCheck != nil {
		ps.Unsupportedf(path+".health_check", "active health checks")
	}
	if c.TLSContext.Enabled() {
		ps.Unsupportedf(path+".tls_context", "upstream TLS")
	}
	if present(c.LBSubsetConfig) {
		ps.Unsupportedf(path+".lb_subset_config", "subset load balancing")
	}
	if len(*ps) > before {
		return
	}
	opts := upstream.ClusterOptions{
		Name:               c.Name,
		LB:                 c.LbType,
		BufferLimit:        int(c.ConnBufferLimitBytes),
		MaxRequestsPerConn: int(c.MaxRequestPerConn),
	}
	if c.ConnectTimeout != nil {
		opts.ConnectTimeout = c.ConnectTimeout.D()
	}
	if c.IdleTimeout != nil {
		opts.IdleTimeout = c.IdleTimeout.D()
	}
	if len(c.CircuitBreakers) > 0 {
		cb := c.CircuitBreakers[0]
		opts.MaxConnections = int(cb.MaxConnections)
		opts.MaxRequests = int(cb.MaxRequests)
		opts.MaxRetries = int(cb.MaxRetries)
		if cb.MaxPendingRequests > 0 {
			// Requests never wait for a connection here (each gets a
			// pooled or a new one), so there is no queue to bound.
			ps.Warnf(path+".circuit_breakers[0].max_pending_requests", "ignored: requests do not queue for connections; max_requests bounds requests in flight")
		}
	}
	if len(c.CircuitBreakers) > 1 {
		ps.Unsupportedf(path+".circuit_breakers[1]", "thresholds per priority (only the first, default, entry applies)")
	}
	for _, h := range c.Hosts {
		opts.Hosts = append(opts.Hosts, upstream.HostOptions{Address: h.Address, Weight: h.Weight})
	}
	if err := m.AddOrUpdate(opts); err != nil {
		ps.Errorf(path, "%v", err)
	}
}

func (s *Server) buildListener(lc *config.Listener, path string, deps proxy.Deps, model network.IOModel, opts Options, ps *config.Problems) *network.Listener {
	before := len(*ps)
	if !lc.BindPort {
		ps.Unsupportedf(path+".bind_port", "false: listeners that do not bind their own port (fed by use_original_dst)")
	}
	if lc.UseOriginalDst {
		ps.Unsupportedf(path+".use_original_dst", "original destination")
	}
	if lc.Inspector {
		ps.Unsupportedf(path+".inspector", "the TLS inspector")
	}
	for i, f := range lc.ListenerFilters {
		ps.Unsupportedf(fmt.Sprintf("%s.listener_filters[%d].type", path, i), "%q: listener filters", f.Type)
	}
	for i, al := range lc.AccessLogs {
		l, err := accesslog.New(al.Path, al.Format)
		if err != nil {
			ps.Errorf(fmt.Sprintf("%s.access_logs[%d]", path, i), "%v", err)
			continue
		}
		s.accessLogs = append(s.accessLogs, l)
		deps.AccessLogs = append(deps.AccessLogs, l)
	}
	for i, f := range lc.StreamFilters {
		fpath := fmt.Sprintf("%s.stream_filters[%d]", path, i)
		factory, ok := proxy.LookupStreamFilter(f.Type)
		if !ok {
			ps.Unsupportedf(fpath+".type", "%q: this stream filter", f.Type)
			continue
		}
		sf, err := factory(fpath+".config", f.Config)
		if err != nil {
			report(ps, fpath+".config", err)
			continue
		}
		deps.StreamFilters = append(deps.StreamFilters, sf)
	}

	var chain []proxy.ChainFactory
	for ci := range lc.FilterChains {
		fc := &lc.FilterChains[ci]
		cpath := fmt.Sprintf("%s.filter_chains[%d]", path, ci)
		if fc.TLSContext.Enabled() {
			ps.Unsupportedf(cpath+".tls_context", "TLS listeners")
		}
		for ti := range fc.TLSContextSet {
			if fc.TLSContextSet[ti].Enabled() {
				ps.Unsupportedf(fmt.Sprintf("%s.tls_context_set[%d]", cpath, ti), "TLS listeners")
			}
		}
		for fi, f := range fc.Filters {
			fpath := fmt.Sprintf("%s.filters[%d]", cpath, fi)
			factory, ok := proxy.LookupNetworkFilter(f.Type)
			if !ok {
				ps.Errorf(fpath+".type", "%q: unknown network filter (known: %s)", f.Type, strings.Join(proxy.NetworkFilterNames(), ", "))
				continue
			}
			built, err := factory(fpath+".config", f.Config, deps)
			if err != nil {
				report(ps, fpath+".config", err)
				continue
			}
			chain = append(chain, built)
		}
	}
	if len(*ps) > before {
		return nil
	}
	lo := network.ListenerOptions{
		Name:           lc.Name,
		Address:        lc.Address,
		MaxConnections: int(lc.MaxConnections),
		Conn:           network.Options{BufferLimit: int(lc.PerConnBufferLimitBytes), Model: model},
		PacketIO:       opts.PacketIO,
		Logger:         opts.Logger.With("component", "listener"),
		OnConn: func(c *network.Conn) error {
			for _, f := range chain {
				if err := f.Install(c); err != nil {
					return err
				}
			}
			return nil
		},
	}
	if lc.ConnectionIdleTimeout != nil {
		lo.Conn.IdleTimeout = lc.ConnectionIdleTimeout.D()
	}
	return network.NewListener(lo)
}

// Clusters is the cluster manager.
func (s *Server) Clusters() *upstream.Manager { return s.clusters }

// Listeners are the listeners, in config order.
func (s *Server) Listeners() []*network.Listener { return s.listeners }

// GracefulTimeout is how long Shutdown waits for connections to finish.
func (s *Server) GracefulTimeout() time.Duration { return s.graceful }

// Start binds every listener, the admin server and the metrics sinks, or
// none: if one cannot bind, those already bound are closed and the error
// names what failed. Then all of them serve.
func (s *Server) Start(ctx context.Context) error {
	obs := s.observers()
	for i, o := range obs {
		if err := o.Listen(ctx); err != nil {
			for _, bound := range obs[:i] {
				bound.Close()
			}
			return fmt.Errorf("%s: %w", s.observerName(o), err)
		}
	}
	for i, l := range s.listeners {
		if err := l.Listen(ctx); err != nil {
			for _, bound := range s.listeners[:i] {
				bound.StopAccepting()
			}
			for _, o := range obs {
				o.Close()
			}
			return fmt.Errorf("listener %q: %w", l.Name(), err)
		}
	}
	for _, l := range s.listeners {
		l.Serve()
		s.log.Info("listening", "listener", l.Name(), "address", l.Addr().String())
	}
	s.state.Store(uint32(admin.StateRunning))
	for _, o := range obs {
		o.Serve()
		s.log.Info("serving "+s.observerName(o), "address", o.Addr().String())
	}
	return nil
}

// Shutdown stops accepting on every listener at once, then waits for open
// connections to finish until ctx is done, and closes what is left.
func (s *Server) Shutdown(ctx context.Context) {
	s.state.Store(uint32(admin.StateDraining))
	for _, l := range s.listeners {
		l.StopAccepting()
	}
	var wg sync.WaitGroup
	forced := make([]int, len(s.listeners))
	for i, l := range s.listeners {
		wg.Go(func() { forced[i] = l.Drain(ctx) })
	}
	wg.Wait()
	total := 0
	for _, n := range forced {
		total += n
	}
	s.log.Info("drained", "closed_by_force", total)
	s.closeIOModel()
	s.closeObservers()
	s.closeLogs()
}

// Close stops accepting and closes every connection now.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for _, l := range s.listeners {
			l.StopAccepting()
			l.CloseConns()
		}
		s.closeIOModel()
		s.closeObservers()
		s.closeLogs()
	})
}
