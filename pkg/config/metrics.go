package config

import "encoding/json"

// SinkPrometheus is the metrics sink type whose config is a PrometheusSink.
const SinkPrometheus = "prometheus"

// Metrics configures where metrics go.
type Metrics struct {
	// Sinks receive the metrics, by type, such as "prometheus". Types
	// other than "prometheus" are looked up in a registry when the config
	// is applied.
	Sinks []Filter `json:"sinks,omitempty"`
	// StatsMatcher turns off some metrics, kept as written.
	StatsMatcher json.RawMessage `json:"stats_matcher,omitempty"`
	// ShmZone is MOSN's shared-memory metrics zone. Ignored (with a
	// warning).
	ShmZone string `json:"shm_zone,omitempty"`
	// ShmSize is the size of MOSN's shared-memory metrics zone. Ignored
	// (with a warning).
	ShmSize json.RawMessage `json:"shm_size,omitempty"`
}

func (m *Metrics) validate(c *checker, path string) {
	if m.ShmZone != "" {
		c.warnf(key(path, "shm_zone"), "ignored: shared-memory metrics are not supported")
	}
	if len(m.ShmSize) > 0 {
		c.warnf(key(path, "shm_size"), "ignored: shared-memory metrics are not supported")
	}
	for i, s := range m.Sinks {
		sp := index(key(path, "sinks"), i)
		switch s.Type {
		case "":
			c.errorf(key(sp, "type"), "required")
		case SinkPrometheus:
			decodePrometheusSink(c, key(sp, "config"), s.Config)
		}
	}
}

// PrometheusSink is the config of a "prometheus" metrics sink: an HTTP
// server for Prometheus to scrape.
type PrometheusSink struct {
	// Port is the port the server listens on, on all interfaces. Required.
	Port uint32 `json:"port,omitempty"`
	// Endpoint is the URL path of the metrics. Default "/metrics".
	Endpoint string `json:"endpoint,omitempty"`
}

// DecodePrometheusSink decodes, completes with defaults and checks the config
// raw of a prometheus sink at path.
func DecodePrometheusSink(path string, raw json.RawMessage) (*PrometheusSink, Problems) {
	var c checker
	p := decodePrometheusSink(&c, path, raw)
	return p, c.ps
}

func decodePrometheusSink(c *checker, path string, raw json.RawMessage) *PrometheusSink {
	p := new(PrometheusSink)
	c.decode(path, raw, p)
	if p.Endpoint == "" {
		p.Endpoint = "/metrics"
	}
	switch {
	case p.Port == 0:
		c.errorf(key(path, "port"), "required")
	case p.Port > 65535:
		c.errorf(key(path, "port"), "%d: port out of range", p.Port)
	}
	return p
}

// Tracing configures request tracing.
type Tracing struct {
	// Enable turns tracing on.
	Enable bool `json:"enable,omitempty"`
	// Tracer is the old name of Driver. Deprecated: use driver.
	Tracer string `json:"tracer,omitempty"`
	// Driver names the tracer, such as "SOFATracer"; it is looked up in a
	// registry when the config is applied. Required when Enable is set.
	Driver string `json:"driver,omitempty"`
	// Config is the driver's own config, kept as written.
	Config json.RawMessage `json:"config,omitempty"`
}

// SetDefaults sets Driver from the deprecated Tracer if only that is set.
func (t *Tracing) SetDefaults() {
	if t.Driver == "" {
		t.Driver = t.Tracer
	}
}

func (t *Tracing) validate(c *checker, path string) {
	if t.Tracer != "" {
		c.warnf(key(path, "tracer"), `deprecated: use "driver"`)
	}
	if t.Enable && t.Driver == "" {
		c.errorf(key(path, "driver"), "required when tracing is enabled")
	}
}
