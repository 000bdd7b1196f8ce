package config

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Log levels, in order of severity, as default_log_level names them.
var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "FATAL"}

// Defaults.
const (
	// DefaultGracefulTimeout is Server.GracefulTimeout when not set.
	DefaultGracefulTimeout = 30 * time.Second
	// DefaultBufferLimit is the per-connection buffer limit of listeners
	// and clusters when not set: 1 MiB.
	DefaultBufferLimit = 1 << 20
)

// Server is the proxy process: its logging, listeners and route tables.
type Server struct {
	// Name names the server in logs and the admin API. Optional.
	Name string `json:"mosn_server_name,omitempty"`
	// DefaultLogPath is where the error log goes: "stdout", "stderr" or a
	// file path. Default "stdout".
	DefaultLogPath string `json:"default_log_path,omitempty"`
	// DefaultLogLevel is the level of the error log: TRACE, DEBUG, INFO,
	// WARN, ERROR, CRITICAL or FATAL, in any case. Default INFO.
	DefaultLogLevel string `json:"default_log_level,omitempty"`
	// GlobalLogRoller is MOSN's log rotation rule. It is ignored (with a
	// warning): log files are reopened on SIGUSR1, so rotate them with
	// logrotate or similar.
	GlobalLogRoller string `json:"global_log_roller,omitempty"`
	// GracefulTimeout is how long a stopping or upgrading process waits
	// for open connections to finish, such as "30s". Default 30s.
	GracefulTimeout Duration `json:"graceful_timeout,omitempty"`
	// Processor is the number of OS threads running Go code at once
	// (GOMAXPROCS). 0, the default, uses every core.
	Processor int `json:"processor,omitempty"`
	// UseNetpollMode selects the event-loop IO model (epoll, a bounded
	// goroutine pool) instead of a goroutine per connection. Default false.
	UseNetpollMode bool `json:"use_netpoll_mode,omitempty"`
	// Listeners are the addresses the server accepts connections on.
	Listeners []Listener `json:"listeners,omitempty"`
	// Routers are the route tables that proxy filters name by
	// router_config_name. Parse adds to them the tables of legacy
	// connection_manager filters.
	Routers []RouterConfig `json:"routers,omitempty"`
}

// SetDefaults fills in the defaults of s, its listeners and its routers, and
// writes a known log level in upper case.
func (s *Server) SetDefaults() {
	if s.DefaultLogPath == "" {
		s.DefaultLogPath = "stdout"
	}
	if s.DefaultLogLevel == "" {
		s.DefaultLogLevel = "INFO"
	}
	s.DefaultLogLevel = canonical(s.DefaultLogLevel, logLevels)
	if s.GracefulTimeout == 0 {
		s.GracefulTimeout = Duration(DefaultGracefulTimeout)
	}
	for i := range s.Listeners {
		s.Listeners[i].SetDefaults()
	}
	for i := range s.Routers {
		s.Routers[i].SetDefaults()
	}
}

func (s *Server) validate(c *checker, path string) {
	if !known(s.DefaultLogLevel, logLevels) {
		c.errorf(key(path, "default_log_level"), "%q: unknown log level (known: %s)", s.DefaultLogLevel, strings.Join(logLevels, ", "))
	}
	if s.GlobalLogRoller != "" {
		c.warnf(key(path, "global_log_roller"), "ignored: log files are reopened on SIGUSR1 (rotate them with logrotate)")
	}
	if s.Processor < 0 {
		c.errorf(key(path, "processor"), "%d: must not be negative (0 = all cores)", s.Processor)
	}

	routers := s.routers(c, path)
	addrs := make(map[netip.AddrPort]string) // address → JSON path of the first listener on it
	names := make(map[string]string)         // name → JSON path of the first listener with it
	for i := range s.Listeners {
		l := &s.Listeners[i]
		lp := index(key(path, "listeners"), i)
		l.validate(c, lp, s, routers)
		ap := l.AddrPort()
		first, dup := addrs[ap]
		switch {
		case dup && ap.Port() != 0:
			c.errorf(key(lp, "address"), "%q: same address as %s", l.Address, first)
			continue // a duplicate name would say it again
		case !dup:
			addrs[ap] = lp
		}
		if l.Name == "" {
			continue // no address either, which is reported
		}
		if first, dup := names[l.Name]; dup {
			hint := ""
			if l.Name == l.Address {
				hint = `; names default to the address: set "name"`
			}
			c.errorf(key(lp, "name"), "%q: duplicate listener name (also %s)%s", l.Name, first, hint)
		} else {
			names[l.Name] = lp
		}
	}
}

// routers validates the route tables of s, those in Routers and those of
// connection_manager filters, and returns the JSON path of each
// router_config_name.
func (s *Server) routers(c *checker, path string) map[string]string {
	type table struct {
		path string
		r    *RouterConfig
	}
	var tables []table
	for i := range s.Routers {
		tables = append(tables, table{index(key(path, "routers"), i), &s.Routers[i]})
	}
	for i, l := range s.Listeners {
		for j, fc := range l.FilterChains {
			for k, f := range fc.Filters {
				if f.Type != FilterConnectionManager {
					continue
				}
				p := index(key(index(key(index(key(path, "listeners"), i), "filter_chains"), j), "filters"), k)
				r := new(RouterConfig)
				c.decode(key(p, "config"), f.Config, r)
				r.SetDefaults()
				tables = append(tables, table{key(p, "config"), r})
			}
		}
	}
	names := make(map[string]string)
	for _, t := range tables {
		t.r.validate(c, t.path)
		name, np := t.r.RouterConfigName, key(t.path, "router_config_name")
		if name == "" {
			continue
		}
		if first, dup := names[name]; dup {
			c.errorf(np, "%q: duplicate router name (also %s)", name, first)
			continue
		}
		names[name] = np
	}
	return names
}

// Listener accepts connections on one address and runs them through its
// filter chain.
type Listener struct {
	// Name identifies the listener in logs, stats and hot upgrade; unique
	// within the server. Default: the address.
	Name string `json:"name,omitempty"`
	// Type is "ingress" (traffic to the local application), "egress"
	// (traffic from it) or empty, as MOSN labels listeners.
	Type string `json:"type,omitempty"`
	// Address is the literal IP and port to listen on, "IP:PORT" or
	// "[IPv6]:PORT", such as "0.0.0.0:2045". Required. Port 0 picks a free
	// port (for tests).
	Address string `json:"address,omitempty"`
	// BindPort makes the listener bind its address. A listener with
	// BindPort false binds nothing: it only receives connections handed
	// over by a listener with UseOriginalDst.
	BindPort bool `json:"bind_port,omitempty"`
	// UseOriginalDst hands each connection, redirected here by iptables,
	// to the listener bound to its original destination, if there is one.
	UseOriginalDst bool `json:"use_original_dst,omitempty"`
	// Inspector accepts TLS and plaintext on the same port, telling them
	// apart by the first bytes.
	Inspector bool `json:"inspector,omitempty"`
	// AccessLogs are the access logs written for this listener's requests.
	AccessLogs []AccessLog `json:"access_logs,omitempty"`
	// ListenerFilters run on each accepted connection before the filter
	// chain, by type (original_dst, ...).
	ListenerFilters []Filter `json:"listener_filters,omitempty"`
	// FilterChains holds the one filter chain of the listener: its TLS and
	// network filters.
	FilterChains []FilterChain `json:"filter_chains,omitempty"`
	// StreamFilters run on every request of the listener's proxy filter,
	// in order, by type.
	StreamFilters []Filter `json:"stream_filters,omitempty"`
	// ConnectionIdleTimeout closes a downstream connection idle for this
	// long, such as "90s". Absent means never.
	ConnectionIdleTimeout *Duration `json:"connection_idle_timeout,omitempty"`
	// PerConnBufferLimitBytes is the size in bytes of unsent data on a
	// connection above which the proxy stops reading from its peer, until
	// it drains. 0 or absent means 1 MiB (1048576).
	PerConnBufferLimitBytes uint32 `json:"per_connection_buffer_limit_bytes,omitempty"`
	// MaxConnections caps the open downstream connections of the
	// listener; 0, the default, means no cap. (An extension of MOSN's
	// schema.)
	MaxConnections uint32 `json:"max_connections,omitempty"`
	// LogPath is a legacy per-listener log path that MOSN configs carry. It
	// is ignored: the server's default_log_path applies (a warning says so
	// when they differ).
	LogPath string `json:"log_path,omitempty"`
	// LogLevel is a legacy per-listener log level. It is ignored: the
	// server's default_log_level applies (a warning says so when they
	// differ).
	LogLevel string `json:"log_level,omitempty"`
}

// SetDefaults fills in the defaults of l.
func (l *Listener) SetDefaults() {
	if l.Name == "" {
		l.Name = l.Address
	}
	if l.PerConnBufferLimitBytes == 0 {
		l.PerConnBufferLimitBytes = DefaultBufferLimit
	}
}

// AddrPort returns the address of l, or the zero AddrPort if Address is not
// valid (Validate reports it).
func (l *Listener) AddrPort() netip.AddrPort {
	ap, _ := parseIPPort(l.Address)
	return ap
}

func (l *Listener) validate(c *checker, path string, s *Server, routers map[string]string) {
	if l.Address == "" {
		c.errorf(key(path, "address"), "required")
	} else if _, msg := parseIPPort(l.Address); msg != "" {
		c.errorf(key(path, "address"), "%s", msg)
	}
	if l.Type != "" && l.Type != "ingress" && l.Type != "egress" {
		c.errorf(key(path, "type"), `%q: want "ingress", "egress" or nothing`, l.Type)
	}
	if l.LogPath != "" && l.LogPath != s.DefaultLogPath {
		c.warnf(key(path, "log_path"), "ignored: the server's default_log_path/default_log_level apply")
	}
	if l.LogLevel != "" && !strings.EqualFold(l.LogLevel, s.DefaultLogLevel) {
		c.warnf(key(path, "log_level"), "ignored: the server's default_log_path/default_log_level apply")
	}
	for i, a := range l.AccessLogs {
		if a.Path == "" {
			c.errorf(key(index(key(path, "access_logs"), i), "log_path"), "required")
		}
	}
	validateTypes(c, key(path, "listener_filters"), l.ListenerFilters)
	validateTypes(c, key(path, "stream_filters"), l.StreamFilters)
	switch len(l.FilterChains) {
	case 0:
		c.errorf(key(path, "filter_chains"), "at least one filter chain is required")
	case 1:
	default:
		c.errorf(key(path, "filter_chains"), "only one filter chain per listener is supported (as in MOSN)")
	}
	for i := range l.FilterChains {
		l.FilterChains[i].validate(c, index(key(path, "filter_chains"), i), routers)
	}
}

// AccessLog is one access log of a listener.
type AccessLog struct {
	// Path is the file to write to, or "stdout"/"stderr". Required.
	Path string `json:"log_path,omitempty"`
	// Format is the line format, with %variables%. Empty means the
	// default format.
	Format string `json:"log_format,omitempty"`
}

// FilterChain is the TLS settings and the network filters that a listener
// runs on each connection.
type FilterChain struct {
	// Match is MOSN's filter chain match, unused with one chain per
	// listener. Optional.
	Match string `json:"match,omitempty"`
	// TLSContext is the TLS server config; absent, or with status false,
	// means plaintext. Mutually exclusive with TLSContextSet.
	TLSContext *TLSConfig `json:"tls_context,omitempty"`
	// TLSContextSet holds several TLS server configs, chosen by the SNI of
	// the client. Mutually exclusive with TLSContext.
	TLSContextSet []TLSConfig `json:"tls_context_set,omitempty"`
	// Filters are the network filters, in order, by type: typically one
	// proxy or tcp_proxy. Parse removes connection_manager filters, whose
	// route tables it moves to Server.Routers.
	Filters []Filter `json:"filters,omitempty"`
}

func (fc *FilterChain) validate(c *checker, path string, routers map[string]string) {
	if fc.TLSContext != nil && len(fc.TLSContextSet) > 0 {
		c.errorf(key(path, "tls_context_set"), "tls_context and tls_context_set are mutually exclusive")
	}
	fc.TLSContext.validate(c, key(path, "tls_context"), true)
	for i := range fc.TLSContextSet {
		fc.TLSContextSet[i].validate(c, index(key(path, "tls_context_set"), i), true)
	}
	n := 0
	for i, f := range fc.Filters {
		fp := index(key(path, "filters"), i)
		switch f.Type {
		case "":
			c.errorf(key(fp, "type"), "required")
		case FilterConnectionManager:
			continue // a route table, validated by Server.routers
		case FilterProxy:
			p := decodeProxy(c, key(fp, "config"), f.Config)
			if name := p.RouterConfigName; name != "" && routers[name] == "" {
				c.errorf(key(fp, "config.router_config_name"), "%q: no such router", name)
			}
		case FilterTCPProxy:
			tp := decodeTCPProxy(c, key(fp, "config"), f.Config)
			c.clusterRef(key(fp, "config.cluster"), tp.Cluster)
			for j, r := range tp.Routes {
				c.clusterRef(key(index(key(fp, "config.routes"), j), "cluster"), r.Cluster)
			}
		}
		n++
	}
	switch {
	case len(fc.Filters) == 0:
		c.errorf(key(path, "filters"), "at least one filter is required")
	case n == 0:
		c.errorf(key(path, "filters"), "at least one filter is required besides connection_manager, which only holds routes")
	}
}

// Filter is an extension named by type, with its own config: a network,
// stream or listener filter, or a metrics sink. The type is looked up in the
// registry of its kind when the config is applied.
type Filter struct {
	// Type names the extension, such as "proxy" or "tcp_proxy". Required.
	Type string `json:"type,omitempty"`
	// Config is the extension's own config, which its factory decodes.
	Config json.RawMessage `json:"config,omitempty"`
}

// validateTypes checks that every filter of fs names its type.
func validateTypes(c *checker, path string, fs []Filter) {
	for i, f := range fs {
		if f.Type == "" {
			c.errorf(key(index(path, i), "type"), "required")
		}
	}
}

// canonical returns the member of names equal to s in any case, or s.
func canonical(s string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return n
		}
	}
	return s
}

// known reports whether s is a member of names, in any case.
func known(s string, names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(s, n) })
}
