package server

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/sidecar-mesh/mosn/pkg/admin"
	"github.com/sidecar-mesh/mosn/pkg/config"
	mlog "github.com/sidecar-mesh/mosn/pkg/log"
	"github.com/sidecar-mesh/mosn/pkg/metrics"
)

// The Server is what the admin API and the metrics collector read.
var (
	_ admin.Runtime  = (*Server)(nil)
	_ metrics.Source = (*Server)(nil)
)

// buildObservability makes, without binding anything, the metrics registry,
// the admin server of cfg.Admin and the servers of prometheus sinks.
func (s *Server) buildObservability(cfg *config.Config, opts Options, ps *config.Problems) {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s.registry = metrics.NewRegistry(s, metrics.BuildInfo{Version: opts.Version})
	if cfg.Admin != nil {
		if ip := cfg.Admin.AddrPort().Addr(); !ip.IsLoopback() {
			ps.Warnf("admin.address.socket_address.address", "%s: the admin API (config dump, log level changes) is reachable beyond this host; 127.0.0.1 keeps it local", ip)
		}
		s.admin = admin.New(admin.Options{
			Address:  cfg.Admin.AddrPort().String(),
			Runtime:  s,
			Gatherer: s.registry,
			Level:    s.level,
			LogPath:  s.logPath,
			Version:  opts.Version,
			Logger:   opts.Logger.With("component", "admin"),
		})
	}
	if p := cfg.Pprof; p != nil && p.Debug {
		addr := net.JoinHostPort("127.0.0.1", strconv.FormatUint(uint64(p.PortValue), 10))
		s.pprof = admin.NewPprof(addr, opts.Logger.With("component", "pprof"))
	}
	if cfg.Metrics == nil {
		return
	}
	if present(cfg.Metrics.StatsMatcher) {
		ps.Unsupportedf("metrics.stats_matcher", "turning metrics off by name (every metric is exported)")
	}
	for i, sink := range cfg.Metrics.Sinks {
		path := fmt.Sprintf("metrics.sinks[%d]", i)
		if sink.Type != config.SinkPrometheus {
			ps.Unsupportedf(path+".type", "%q metrics sinks (prometheus runs)", sink.Type)
			continue
		}
		pc, sps := config.DecodePrometheusSink(path+".config", sink.Config)
		if err := sps.Err(); err != nil {
			ps.Errorf(path+".config", "%v", err)
			continue
		}
		// MOSN's sink listens on every interface: Prometheus scrapes a
		// sidecar from outside its pod.
		addr := net.JoinHostPort("", strconv.FormatUint(uint64(pc.Port), 10))
		s.sinks = append(s.sinks, admin.NewSink(addr, pc.Endpoint, s.registry, opts.Logger.With("component", "metrics")))
	}
}

// observers are the admin server, the sinks and the pprof server, in the
// order they bind.
func (s *Server) observers() []*admin.Server {
	var all []*admin.Server
	if s.admin != nil {
		all = append(all, s.admin)
	}
	all = append(all, s.sinks...)
	if s.pprof != nil {
		all = append(all, s.pprof)
	}
	return all
}

// observerName says what o is, for logs and errors.
func (s *Server) observerName(o *admin.Server) string {
	switch o {
	case s.admin:
		return "admin API"
	case s.pprof:
		return "pprof"
	}
	return "metrics sink"
}

// Admin is the admin server; nil when the config has no admin key.
func (s *Server) Admin() *admin.Server { return s.admin }

// Pprof is the server of Go's profiling endpoints; nil unless the config
// has pprof.debug.
func (s *Server) Pprof() *admin.Server { return s.pprof }

// Sinks are the servers of the prometheus metrics sinks, in config order.
func (s *Server) Sinks() []*admin.Server { return s.sinks }

// State is the process state the admin API reports.
func (s *Server) State() admin.State { return admin.State(s.state.Load()) }

// Sample reads every listener's, cluster's and host's counters. Hosts are
// reported healthy: this build has no health checks to say otherwise.
func (s *Server) Sample() metrics.Sample {
	var out metrics.Sample
	for i, l := range s.listeners {
		st := l.Stats()
		ls := metrics.ListenerSample{
			Name:              l.Name(),
			ConnectionTotal:   st.ConnectionTotal.Load(),
			ConnectionActive:  st.ConnectionActive.Load(),
			ConnectionDestroy: st.ConnectionDestroy.Load(),
			BytesRead:         st.BytesRead.Load(),
			BytesWritten:      st.BytesWritten.Load(),
			Requests:          s.reqStats[i],
		}
		if a := l.Addr(); a != nil {
			ls.Address = a.String()
		}
		out.Listeners = append(out.Listeners, ls)
	}
	for _, name := range s.clusters.Names() {
		c := s.clusters.Get(name)
		if c == nil {
			continue // removed meanwhile
		}
		st := c.Stats()
		cs := metrics.ClusterSample{
			Name:                   name,
			ConnectionTotal:        st.ConnectionTotal.Load(),
			ConnectionActive:       st.ConnectionActive.Load(),
			ConnectionConFail:      st.ConnectionConFail.Load(),
			ConnectionLocalClose:   st.ConnectionLocalClose.Load(),
			ConnectionRemoteClose:  st.ConnectionRemoteClose.Load(),
			ConnectionOverflow:     st.ConnectionOverflow.Load(),
			BytesRead:              st.BytesRead.Load(),
			BytesWritten:           st.BytesWritten.Load(),
			RequestActive:          st.RequestActive.Load(),
			RequestPendingOverflow: st.RequestPendingOverflow.Load(),
			RequestRetryOverflow:   st.RequestRetryOverflow.Load(),
			Requests:               &st.Requests,
			RequestDuration:        &st.RequestDuration,
		}
		for _, h := range c.Hosts() {
			hs := h.Stats()
			cs.Hosts = append(cs.Hosts, metrics.HostSample{
				Address:           h.Address,
				Weight:            h.Weight,
				Healthy:           true,
				ConnectionTotal:   hs.ConnectionTotal.Load(),
				ConnectionActive:  hs.ConnectionActive.Load(),
				ConnectionConFail: hs.ConnectionConFail.Load(),
				RequestActive:     hs.RequestActive.Load(),
				Requests:          &hs.Requests,
			})
		}
		out.Clusters = append(out.Clusters, cs)
	}
	return out
}

// configDump is the shape of /api/v1/config_dump: the server-wide settings,
// then listeners, routers and clusters by name.
type configDump struct {
	MOSNConfig *serverDump                     `json:"mosn_config,omitempty"`
	Listener   map[string]config.Listener      `json:"listener,omitempty"`
	Routers    map[string]*config.RouterConfig `json:"routers,omitempty"`
	Cluster    map[string]config.Cluster       `json:"cluster,omitempty"`
}

// serverDump is the server-wide part of the dump.
type serverDump struct {
	Name            string          `json:"mosn_server_name,omitempty"`
	DefaultLogPath  string          `json:"default_log_path,omitempty"`
	DefaultLogLevel string          `json:"default_log_level,omitempty"`
	GracefulTimeout string          `json:"graceful_timeout,omitempty"`
	Processor       int             `json:"processor,omitempty"`
	Admin           *config.Admin   `json:"admin,omitempty"`
	Metrics         *config.Metrics `json:"metrics,omitempty"`
	Pid             string          `json:"pid,omitempty"`
}

// ConfigDump returns the effective config: what each running object was
// built from, updated with what it holds now — a listener's bound address,
// a cluster's current hosts and settings, the log level as the admin API
// last set it. Secrets are redacted by the admin API.
func (s *Server) ConfigDump(f admin.DumpFilter) (any, error) {
	all := f == admin.DumpFilter{}
	d := configDump{}
	if all {
		d.MOSNConfig = &serverDump{
			Name:            s.built.name,
			DefaultLogPath:  s.logPath,
			DefaultLogLevel: mlog.LevelName(s.level.Level()),
			GracefulTimeout: s.graceful.String(),
			Processor:       s.built.processor,
			Admin:           s.built.admin,
			Metrics:         s.built.metrics,
			Pid:             s.built.pid,
		}
	}
	if all || f.Listener != "" {
		d.Listener = map[string]config.Listener{}
		for i, l := range s.listeners {
			if f.Listener != "" && l.Name() != f.Listener {
				continue
			}
			lc := s.built.listeners[i]
			if a := l.Addr(); a != nil {
				lc.Address = a.String()
			}
			d.Listener[l.Name()] = lc
		}
		if f.Listener != "" && len(d.Listener) == 0 {
			return nil, fmt.Errorf("listener %q: %w (listeners: %v)", f.Listener, admin.ErrNotFound, s.listenerNames())
		}
	}
	if all || f.Router != "" {
		d.Routers = map[string]*config.RouterConfig{}
		for _, r := range s.built.routers {
			if f.Router == "" || r.RouterConfigName == f.Router {
				d.Routers[r.RouterConfigName] = r
			}
		}
		if f.Router != "" && len(d.Routers) == 0 {
			return nil, fmt.Errorf("router %q: %w (routers: %v)", f.Router, admin.ErrNotFound, slices.Sorted(maps.Keys(s.routerNames())))
		}
	}
	if all || f.Cluster != "" {
		d.Cluster = map[string]config.Cluster{}
		for _, name := range s.clusters.Names() {
			if f.Cluster != "" && name != f.Cluster {
				continue
			}
			c := s.clusters.Get(name)
			if c == nil {
				continue
			}
			cc := s.built.clusters[name]
			cc.Name = name
			cc.Hosts = nil
			for _, h := range c.Hosts() {
				cc.Hosts = append(cc.Hosts, config.Host{Address: h.Address, Weight: h.Weight})
			}
			d.Cluster[name] = cc
		}
		if f.Cluster != "" && len(d.Cluster) == 0 {
			return nil, fmt.Errorf("cluster %q: %w (clusters: %v)", f.Cluster, admin.ErrNotFound, s.clusters.Names())
		}
	}
	return d, nil
}

func (s *Server) listenerNames() []string {
	var names []string
	for _, l := range s.listeners {
		names = append(names, l.Name())
	}
	return names
}

func (s *Server) routerNames() map[string]bool {
	m := map[string]bool{}
	for _, r := range s.built.routers {
		m[r.RouterConfigName] = true
	}
	return m
}

// recordConfig keeps what the config dump shows of cfg, and the log level
// and path the admin API reports.
func (s *Server) recordConfig(cfg *config.Config) {
	s.built = builtFrom{pid: cfg.Pid, admin: cfg.Admin, metrics: cfg.Metrics, clusters: map[string]config.Cluster{}}
	for _, c := range cfg.ClusterManager.Clusters {
		s.built.clusters[c.Name] = c
	}
	if len(cfg.Servers) > 0 {
		srv := &cfg.Servers[0]
		s.built.name, s.built.processor, s.logPath = srv.Name, srv.Processor, srv.DefaultLogPath
		for i := range srv.Routers {
			s.built.routers = append(s.built.routers, &srv.Routers[i])
		}
		if s.level == nil {
			s.level = new(slog.LevelVar)
			if l, err := mlog.ParseLevel(srv.DefaultLogLevel); err == nil {
				s.level.Set(l)
			}
		}
	}
	if s.level == nil {
		s.level = new(slog.LevelVar)
	}
}

// closeObservers closes the admin server and the sinks.
func (s *Server) closeObservers() {
	s.state.Store(uint32(admin.StateStopped))
	for _, o := range s.observers() {
		o.Close()
	}
}
