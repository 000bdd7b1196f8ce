package router

import (
	"strconv"
	"strings"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// opKind is what a headerOp does.
type opKind uint8

const (
	opAdd opKind = iota // append: true (the default): one more field
	opSet               // append: false: replace every field of the name
	opDel               // *_headers_to_remove
)

// headerOp is one compiled header edit.
type headerOp struct {
	kind        opKind
	name, value string // name in lower case
}

// adds compiles a request_headers_to_add or response_headers_to_add list at
// path. Values are literal: like MOSN, and unlike Envoy, "%VAR%" is not
// expanded.
func (b *builder) adds(path string, hs []config.HeaderValueOption) []headerOp {
	ops := make([]headerOp, 0, len(hs))
	for i, hv := range hs {
		name := strings.ToLower(hv.Header.Key)
		if !b.headerName(path+"["+strconv.Itoa(i)+"].header.key", name) {
			continue
		}
		op := headerOp{kind: opAdd, name: name, value: hv.Header.Value}
		if hv.Append != nil && !*hv.Append {
			op.kind = opSet
		}
		ops = append(ops, op)
	}
	return ops
}

// removes compiles a *_headers_to_remove list at path.
func (b *builder) removes(path string, names []string) []headerOp {
	ops := make([]headerOp, 0, len(names))
	for i, n := range names {
		name := strings.ToLower(n)
		if !b.headerName(path+"["+strconv.Itoa(i)+"]", name) {
			continue
		}
		ops = append(ops, headerOp{kind: opDel, name: name})
	}
	return ops
}

// headerName reports whether name may be edited by header lists. Like
// Envoy, it refuses pseudo-headers: the path and authority have their own
// rewrites.
func (b *builder) headerName(path, name string) bool {
	switch {
	case name == "":
		b.errorf(path, "required")
	case name[0] == ':':
		b.errorf(path, "%q: pseudo-headers cannot be edited here (use prefix_rewrite, regex_rewrite, host_rewrite)", name)
	default:
		return true
	}
	return false
}

func apply(h *protocol.Headers, ops []headerOp) {
	for i := range ops {
		op := &ops[i]
		switch op.kind {
		case opAdd:
			h.AddString(op.name, op.value)
		case opSet:
			h.Set(op.name, op.value)
		case opDel:
			h.Del(op.name)
		}
	}
}

// RewriteRequest turns the downstream request into the upstream one, in
// this order:
//
//  1. the path: prefix_rewrite replaces the part of :path the route matched
//     (the prefix of a prefix route; the whole path, query excluded, of a
//     path or regex route; nothing, so it is prepended, of a route without a
//     path matcher); or regex_rewrite replaces every match of its pattern in
//     the path, query excluded. The query string is kept. A request without
//     :path is left alone.
//  2. the authority: host_rewrite, or the value of the auto_host_rewrite_header
//     request header when present, replaces ":authority" and "host",
//     whichever the request has ("host" when it has neither).
//     auto_host_rewrite is left to the proxy (AutoHostRewrite).
//  3. header edits, route first, then virtual host, then table (Envoy's
//     default order, most specific first); within each level removals
//     (request_headers_to_remove) come before additions
//     (request_headers_to_add: append true adds a field, append false
//     replaces every field of the name). So for the same header set with
//     append false at several levels, the table's value is the one left,
//     as in Envoy without most_specific_header_mutations_wins.
//
// Routes that do not forward rewrite only headers.
func (r *Route) RewriteRequest(h *protocol.Headers) {
	if r.prefixRewrite != "" || r.regexRewrite != nil {
		r.rewritePath(h)
	}
	switch {
	case r.hostRewrite != "":
		setAuthority(h, r.hostRewrite)
	case r.hostRewriteHeader != "":
		if v, ok := h.Get(r.hostRewriteHeader); ok && len(v) > 0 {
			setAuthority(h, string(v))
		}
	}
	apply(h, r.reqEdits)
}

// RewriteResponse edits the response headers (response_headers_to_remove,
// then response_headers_to_add) of the route, then of its virtual host,
// then of the table. The proxy calls it for upstream responses and, as
// Envoy does, may call it for direct responses and redirects.
func (r *Route) RewriteResponse(h *protocol.Headers) { apply(h, r.respEdits) }

func (r *Route) rewritePath(h *protocol.Headers) {
	v, ok := h.Get(protocol.Path)
	if !ok {
		return
	}
	full := string(v)
	q := queryIndex(full)
	path, query := full[:q], full[q:]
	if r.regexRewrite != nil {
		h.Set(protocol.Path, r.regexRewrite.ReplaceAllString(path, r.substitution)+query)
		return
	}
	switch r.match.path {
	case pathPrefix:
		if !strings.HasPrefix(path, r.match.value) {
			return // a filter changed the path since Match
		}
		h.Set(protocol.Path, r.prefixRewrite+full[len(r.match.value):])
	case pathExact, pathRegex:
		h.Set(protocol.Path, r.prefixRewrite+query)
	default:
		h.Set(protocol.Path, r.prefixRewrite+full)
	}
}

// setAuthority sets the request's authority to host.
func setAuthority(h *protocol.Headers, host string) {
	a, hs := h.Has(protocol.Authority), h.Has("host")
	if a {
		h.Set(protocol.Authority, host)
	}
	if hs || !a {
		h.Set("host", host)
	}
}
