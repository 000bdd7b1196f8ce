// Package fault is the stream filter "fault": it aborts a share of the
// requests that match its headers with a configured status, before they are
// routed, to test how callers cope with failing services. MOSN's config
// shape: {"abort": {"status": 503, "percentage": 50}, "headers": [...]}.
package fault

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/proxy"
)

func init() { proxy.RegisterStreamFilter("fault", New) }

// Config is the filter's config.
type Config struct {
	// Abort answers matching requests itself.
	Abort *struct {
		// Status is the HTTP status to answer with (200..599).
		Status int `json:"status"`
		// Percentage of matching requests to abort, 0..100.
		Percentage uint32 `json:"percentage"`
	} `json:"abort"`
	// Delay is MOSN's delay injection; not supported yet.
	Delay json.RawMessage `json:"delay"`
	// Headers must all match for a request to be affected; none means all.
	Headers []config.HeaderMatcher `json:"headers"`
}

type matcher struct {
	name  string
	value string
	re    *regexp.Regexp
}

// Filter is a configured fault filter.
type Filter struct {
	status  int
	percent uint32
	headers []matcher
}

var _ proxy.StreamFilter = (*Filter)(nil)

// New builds the filter from its config.
func New(path string, raw json.RawMessage) (proxy.StreamFilter, error) {
	var c Config
	if err := config.Decode(path, raw, &c).Err(); err != nil {
		return nil, err
	}
	if len(c.Delay) > 0 && string(c.Delay) != "null" {
		return nil, fmt.Errorf("%s.delay: delay injection: %w", path, proxy.ErrNotSupported)
	}
	if c.Abort == nil {
		return nil, fmt.Errorf("%s.abort: required", path)
	}
	if c.Abort.Status < 200 || c.Abort.Status > 599 || c.Abort.Percentage > 100 {
		return nil, fmt.Errorf("%s.abort: status must be 200..599 and percentage 0..100", path)
	}
	f := &Filter{status: c.Abort.Status, percent: c.Abort.Percentage}
	for i, h := range c.Headers {
		m := matcher{name: strings.ToLower(h.Name), value: h.Value}
		if h.Regex {
			re, err := regexp.Compile("^(?:" + h.Value + ")$")
			if err != nil {
				return nil, fmt.Errorf("%s.headers[%d].value: %w", path, i, err)
			}
			m.re = re
		}
		f.headers = append(f.headers, m)
	}
	return f, nil
}

// OnRequest aborts the configured share of matching requests.
func (f *Filter) OnRequest(h *protocol.Headers) (int, string) {
	for _, m := range f.headers {
		v, ok := h.Get(m.name)
		if !ok || (m.re == nil && m.value != ".*" && string(v) != m.value) || (m.re != nil && !m.re.Match(v)) {
			return 0, ""
		}
	}
	if f.percent < 100 && uint32(rand.IntN(100)) >= f.percent {
		return 0, ""
	}
	return f.status, "fault filter abort: " + strconv.Itoa(f.status)
}

// OnResponse does nothing.
func (f *Filter) OnResponse(*protocol.Headers) {}
