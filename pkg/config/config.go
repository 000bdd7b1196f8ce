package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
)

// Config is the whole static config file of the proxy, in MOSN's v2 schema.
type Config struct {
	// Servers holds the one server of the process: its logging, listeners
	// and route tables. Exactly one is supported.
	Servers []Server `json:"servers,omitempty"`
	// ClusterManager holds the upstream clusters that routes and TCP
	// proxies name.
	ClusterManager ClusterManager `json:"cluster_manager"`
	// Admin is the admin HTTP endpoint (config dump, stats, health). Absent
	// means no admin endpoint.
	Admin *Admin `json:"admin,omitempty"`
	// Metrics configures metric sinks. Absent means none.
	Metrics *Metrics `json:"metrics,omitempty"`
	// Tracing configures request tracing. Absent means off.
	Tracing *Tracing `json:"tracing,omitempty"`
	// Pid is the path of the file the process writes its PID to. Empty
	// (the default) lets the caller decide.
	Pid string `json:"pid,omitempty"`
	// DisableUpgrade turns off hot upgrade: a new process does not take the
	// listening sockets of a running one.
	DisableUpgrade bool `json:"disable_upgrade,omitempty"`
	// DynamicResources is MOSN's xDS bootstrap (Envoy's dynamic_resources),
	// kept as written; this package does not interpret it.
	DynamicResources json.RawMessage `json:"dynamic_resources,omitempty"`
	// StaticResources is MOSN's xDS bootstrap (Envoy's static_resources),
	// kept as written; this package does not interpret it.
	StaticResources json.RawMessage `json:"static_resources,omitempty"`
	// Pprof is MOSN's pprof debug server.
	Pprof *Pprof `json:"pprof,omitempty"`
}

// Pprof is Go's profiling endpoints (/debug/pprof/), as MOSN configures
// them: {"debug": true, "port_value": 34902}. They listen on 127.0.0.1
// only: a profile shows the process's memory.
type Pprof struct {
	// Debug turns the server on.
	Debug bool `json:"debug,omitempty"`
	// PortValue is the port; required with debug, 0 picks a free one.
	PortValue uint32 `json:"port_value,omitempty"`
}

func (p *Pprof) validate(c *checker, path string) {
	if p.PortValue > 65535 {
		c.errorf(key(path, "port_value"), "%d: port out of range", p.PortValue)
	}
}

// Load reads the config file named file and parses it as Parse does. Relative
// TLS file paths (ca_cert, cert_chain, private_key) are taken relative to the
// directory of file, and rewritten to absolute paths in the returned Config.
// cfg is nil if the file cannot be read or is not a JSON object.
func Load(file string) (*Config, Problems) {
	data, err := os.ReadFile(file)
	if err != nil {
		var ps Problems
		ps.Errorf("", "%v", err)
		return nil, ps
	}
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		dir = filepath.Dir(file)
	}
	return parse(data, dir)
}

// Parse decodes data (see Decode), applies defaults (SetDefaults), validates
// the result (Validate), and lifts the route tables of legacy
// connection_manager filters into their server's Routers, removing those
// filters from their chains. It returns every problem at once: the config
// may be used only if ps.Err() is nil. cfg is nil only if data is not a JSON
// object. Relative TLS file paths are relative to the working directory.
func Parse(data []byte) (*Config, Problems) {
	return parse(data, "")
}

func parse(data []byte, dir string) (*Config, Problems) {
	c := checker{dir: dir}
	data = bytes.TrimSpace(data)
	if !json.Valid(data) {
		c.ps.Errorf("", "%s", syntaxError(data))
		return nil, c.ps
	}
	if k := jsonKind(data); k != "object" {
		c.ps.Errorf("", "the config must be a JSON object, got %s", k)
		return nil, c.ps
	}
	var cfg Config
	c.decode("", data, &cfg)
	cfg.SetDefaults()
	cfg.validate(&c)
	cfg.liftRouters()
	if dir != "" {
		cfg.resolveFiles(dir)
	}
	return &cfg, c.ps
}

// SetDefaults fills in the defaults of every part of c that has them.
func (c *Config) SetDefaults() {
	for i := range c.Servers {
		c.Servers[i].SetDefaults()
	}
	c.ClusterManager.SetDefaults()
	if c.Tracing != nil {
		c.Tracing.SetDefaults()
	}
}

// Validate checks c, after SetDefaults, and returns every problem found.
// Relative TLS file paths are checked relative to the working directory.
// It does not change c.
func (c *Config) Validate() Problems {
	var ch checker
	c.validate(&ch)
	return ch.ps
}

func (c *Config) validate(ch *checker) {
	ch.clusters = c.ClusterManager.names("cluster_manager")
	switch {
	case len(c.Servers) == 0 && len(c.DynamicResources) == 0 && len(c.StaticResources) == 0:
		ch.errorf("servers", "at least one server is required")
	case len(c.Servers) > 1:
		ch.errorf("servers", "only one server is supported (got %d)", len(c.Servers))
	}
	for i := range c.Servers {
		c.Servers[i].validate(ch, index("servers", i))
	}
	c.ClusterManager.validate(ch, "cluster_manager")
	if c.Admin != nil {
		c.Admin.validate(ch, "admin")
	}
	if c.Metrics != nil {
		c.Metrics.validate(ch, "metrics")
	}
	if c.Tracing != nil {
		c.Tracing.validate(ch, "tracing")
	}
	if c.Pprof != nil {
		c.Pprof.validate(ch, "pprof")
	}
}

// liftRouters moves the route table of every connection_manager filter into
// its server's Routers, and removes the filter from its chain.
func (c *Config) liftRouters() {
	for i := range c.Servers {
		s := &c.Servers[i]
		for j := range s.Listeners {
			for k := range s.Listeners[j].FilterChains {
				fc := &s.Listeners[j].FilterChains[k]
				kept := fc.Filters[:0]
				for _, f := range fc.Filters {
					if f.Type != FilterConnectionManager {
						kept = append(kept, f)
						continue
					}
					var r RouterConfig
					Decode("", f.Config, &r) // its problems were reported by validate
					r.SetDefaults()
					s.Routers = append(s.Routers, r)
				}
				fc.Filters = kept
			}
		}
	}
}

// resolveFiles makes the relative TLS file paths of c absolute, relative to
// dir.
func (c *Config) resolveFiles(dir string) {
	for i := range c.Servers {
		for j := range c.Servers[i].Listeners {
			for k := range c.Servers[i].Listeners[j].FilterChains {
				fc := &c.Servers[i].Listeners[j].FilterChains[k]
				fc.TLSContext.resolveFiles(dir)
				for t := range fc.TLSContextSet {
					fc.TLSContextSet[t].resolveFiles(dir)
				}
			}
		}
	}
	c.ClusterManager.TLSContext.resolveFiles(dir)
	for i := range c.ClusterManager.Clusters {
		c.ClusterManager.Clusters[i].TLSContext.resolveFiles(dir)
	}
}
