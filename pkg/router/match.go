package router

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// pathKind says how a route matches the request path.
type pathKind uint8

const (
	pathAny    pathKind = iota // no path matcher: any path, or none (RPC)
	pathPrefix                 // the path starts with value
	pathExact                  // the path is value
	pathRegex                  // re matches the whole path
)

// valueKind says how a header matcher matches the header value.
type valueKind uint8

const (
	valueExact   valueKind = iota // the value is value, case-sensitively
	valuePresent                  // any value: MOSN's ".*" without regex
	valueRegex                    // re matches the whole value
)

// routeMatch is the compiled match of a route.
type routeMatch struct {
	path    pathKind
	value   string         // prefix or exact path
	re      *regexp.Regexp // pathRegex, anchored
	headers []headerMatch
}

// headerMatch is one compiled header matcher.
type headerMatch struct {
	name      string // lower case
	authority bool   // ":authority" or "host": read as the request's authority
	kind      valueKind
	value     string
	re        *regexp.Regexp // valueRegex, anchored
}

// compileMatch builds the match of a route at path (".match").
func (b *builder) compileMatch(m *routeMatch, path string, c *config.RouteMatch) {
	n := 0
	if c.Prefix != "" {
		m.path, m.value = pathPrefix, c.Prefix
		n++
	}
	if c.Path != "" {
		m.path, m.value = pathExact, c.Path
		n++
	}
	if c.Regex != "" {
		m.path = pathRegex
		m.re = b.anchored(path+".regex", c.Regex)
		n++
	}
	if n > 1 {
		b.errorf(path, "set at most one of prefix, path, regex")
	}
	m.headers = make([]headerMatch, len(c.Headers))
	for i, hc := range c.Headers {
		hp := path + ".headers[" + strconv.Itoa(i) + "]"
		hm := &m.headers[i]
		hm.name = strings.ToLower(hc.Name)
		if hm.name == "" {
			b.errorf(hp+".name", "required")
		}
		hm.authority = hm.name == protocol.Authority || hm.name == "host"
		hm.value = hc.Value
		switch {
		case hc.Regex:
			hm.kind = valueRegex
			hm.re = b.anchored(hp+".value", hc.Value)
		case hc.Value == ".*":
			// MOSN's RPC configs match any service this way, without
			// "regex": true; taken literally it would match nothing.
			hm.kind = valuePresent
		default:
			hm.kind = valueExact
		}
	}
}

// anchored compiles re to match whole strings only.
func (b *builder) anchored(path, re string) *regexp.Regexp {
	if _, err := regexp.Compile(re); err != nil { // its error, not the wrapper's
		b.errorf(path, "%q: invalid regular expression: %v", re, err)
		return nil
	}
	r, err := regexp.Compile(`^(?:` + re + `)$`)
	if err != nil {
		b.errorf(path, "%q: invalid regular expression: %v", re, err)
		return nil
	}
	return r
}

// matches reports whether the request matches. path is the request path
// without its query string (and fragment); hasPath is false when the request
// has no :path at all.
func (m *routeMatch) matches(h *protocol.Headers, path []byte, hasPath bool) bool {
	switch m.path {
	case pathPrefix:
		if !hasPath || len(path) < len(m.value) || string(path[:len(m.value)]) != m.value {
			return false
		}
	case pathExact:
		if !hasPath || string(path) != m.value {
			return false
		}
	case pathRegex:
		if !hasPath || !m.re.Match(path) {
			return false
		}
	}
	for i := range m.headers {
		if !m.headers[i].matches(h) {
			return false
		}
	}
	return true
}

// matches reports whether the request has the header with a matching value.
// Of a header given several times, the first value counts.
func (hm *headerMatch) matches(h *protocol.Headers) bool {
	var v []byte
	if hm.authority {
		v = authority(h)
		if v == nil {
			return false
		}
	} else {
		var ok bool
		if v, ok = h.Get(hm.name); !ok {
			return false
		}
	}
	switch hm.kind {
	case valuePresent:
		return true
	case valueRegex:
		return hm.re.Match(v)
	default:
		return string(v) == hm.value
	}
}

// trimQuery returns the path without its query string or fragment, which
// path matching ignores, as Envoy's does.
func trimQuery(path []byte) []byte {
	for i, c := range path {
		if c == '?' || c == '#' {
			return path[:i]
		}
	}
	return path
}

// queryIndex is the index of the query string or fragment in path, or
// len(path).
func queryIndex(path string) int {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		return i
	}
	return len(path)
}
