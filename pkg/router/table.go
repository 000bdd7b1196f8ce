package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// ErrNotSupported marks a config field that is valid MOSN config but that
// this router cannot run. New wraps it in an error naming the field, so
// callers can tell "not yet" from "wrong" with errors.Is.
var ErrNotSupported = errors.New("not supported")

// Table is one route table (one router_config_name): virtual hosts chosen by
// the request's authority, each with routes tried in order. It is built once
// by New and never changes afterwards, so any number of goroutines may call
// Match at once without locking; a config update builds a new Table and
// swaps it in.
type Table struct {
	name  string
	hosts []virtualHost
	index domainIndex
}

// virtualHost is one virtual host of a Table.
type virtualHost struct {
	name   string
	routes []Route
}

// New builds the table of cfg, which should have passed config validation.
// It returns every problem it finds at once (errors.Join), each naming the
// router and the JSON path of the field, such as
//
//	router "r": virtual_hosts[0].routers[1].route.hash_policy: consistent-hash load balancing: not supported
//
// A field that New cannot run is never ignored: its error wraps
// ErrNotSupported.
func New(cfg *config.RouterConfig) (*Table, error) {
	b := &builder{router: cfg.RouterConfigName}
	t := &Table{name: cfg.RouterConfigName}
	if cfg.RouterConfigName == "" {
		b.errorf("router_config_name", "required")
	}
	if cfg.RouterConfigs != "" {
		b.unsupported("router_configs", "loading virtual hosts from a directory")
	}

	// Table-level header edits apply to every route; build them once.
	tableReq := b.adds("request_headers_to_add", cfg.RequestHeadersToAdd)
	tableResp := b.removes("response_headers_to_remove", cfg.ResponseHeadersToRemove)
	tableResp = append(tableResp, b.adds("response_headers_to_add", cfg.ResponseHeadersToAdd)...)

	t.hosts = make([]virtualHost, len(cfg.VirtualHosts))
	for i := range cfg.VirtualHosts {
		vc := &cfg.VirtualHosts[i]
		vp := fmt.Sprintf("virtual_hosts[%d]", i)
		vh := &t.hosts[i]
		vh.name = vc.Name
		if rt := vc.RequireTLS; rt != "" && !strings.EqualFold(rt, "NONE") {
			b.unsupported(vp+".require_tls", fmt.Sprintf("%q", rt))
		}
		// Most specific first: route, then virtual host, then table (see
		// RewriteRequest).
		vhReq := b.adds(vp+".request_headers_to_add", vc.RequestHeadersToAdd)
		vhResp := b.removes(vp+".response_headers_to_remove", vc.ResponseHeadersToRemove)
		vhResp = append(vhResp, b.adds(vp+".response_headers_to_add", vc.ResponseHeadersToAdd)...)

		vh.routes = make([]Route, len(vc.Routes))
		for j := range vc.Routes {
			rp := fmt.Sprintf("%s.routers[%d]", vp, j)
			r := &vh.routes[j]
			r.vhost = vc.Name
			b.route(r, rp, &vc.Routes[j])
			r.reqEdits = concat(r.reqEdits, vhReq, tableReq)
			r.respEdits = concat(r.respEdits, vhResp, tableResp)
		}
	}
	t.index = b.domains(cfg.VirtualHosts, t.hosts)
	if err := b.err(); err != nil {
		return nil, err
	}
	return t, nil
}

// Name returns the table's router_config_name.
func (t *Table) Name() string { return t.name }

// Match returns the route for a request, or nil when none matches (the proxy
// answers 404). It picks the virtual host by the request's authority
// (":authority", else "host"; see the package doc for the precedence of
// domains), then returns the first route of that virtual host whose match
// holds. Match takes no lock and allocates nothing; h is only read.
func (t *Table) Match(h *protocol.Headers) *Route {
	vh := t.index.lookup(h)
	if vh == nil {
		return nil
	}
	path, hasPath := h.Get(protocol.Path)
	path = trimQuery(path)
	for i := range vh.routes {
		if r := &vh.routes[i]; r.match.matches(h, path, hasPath) {
			return r
		}
	}
	return nil
}

// Tables are a server's route tables by router_config_name. A nil Tables is
// an empty one. Like each Table, it is not changed after NewTables, and may
// be read concurrently.
type Tables map[string]*Table

// NewTables builds a table for each config. It returns every problem of
// every table at once; a name given twice is an error.
func NewTables(cfgs []config.RouterConfig) (Tables, error) {
	ts := make(Tables, len(cfgs))
	var errs []error
	for i := range cfgs {
		t, err := New(&cfgs[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := ts[t.name]; dup {
			errs = append(errs, fmt.Errorf("router %q: duplicate router_config_name", t.name))
			continue
		}
		ts[t.name] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ts, nil
}

// builder collects the problems of one New.
type builder struct {
	router string
	errs   []error
}

func (b *builder) errorf(path, format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("router %q: %s: %s", b.router, path, fmt.Sprintf(format, args...)))
}

// unsupported reports the field at path as valid config this router cannot
// run; what says which feature.
func (b *builder) unsupported(path, what string) {
	b.errs = append(b.errs, fmt.Errorf("router %q: %s: %s: %w", b.router, path, what, ErrNotSupported))
}

func (b *builder) err() error { return errors.Join(b.errs...) }

// concat returns the elements of all lists in one new slice.
func concat[T any](lists ...[]T) []T {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return nil
	}
	out := make([]T, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
