package accesslog

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

func testEntry() *Entry {
	req := new(protocol.Headers)
	req.AddString(protocol.Method, "GET")
	req.AddString(protocol.Path, "/a?b=c")
	req.AddString("X-Request-Id", "r-1")
	req.AddString("User-Agent", "curl/8.4.0")
	resp := new(protocol.Headers)
	resp.AddString(protocol.Status, "503")
	resp.AddString("Server", "up")
	return &Entry{
		StartTime:            time.Date(2024, 7, 20, 7, 5, 4, 173_886_083, time.UTC),
		RequestReceived:      1500 * time.Microsecond,
		ResponseReceived:     12*time.Millisecond + 3*time.Microsecond,
		Duration:             2*time.Minute + 3500*time.Millisecond,
		BytesReceived:        12,
		BytesSent:            345,
		Protocol:             "Http1",
		ResponseCode:         503,
		ResponseFlags:        "UF,URX",
		UpstreamCluster:      "backend",
		UpstreamHost:         "10.0.0.2:8080",
		UpstreamLocalAddr:    "10.0.0.1:40000",
		DownstreamLocalAddr:  "127.0.0.1:2045",
		DownstreamRemoteAddr: "127.0.0.1:51000",
		RequestHeaders:       req,
		ResponseHeaders:      resp,
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, format string
		entry        func(*Entry) // changes to testEntry; nil for none
		want         string       // the line, without newline
		wantErr      error
		errHas       string
	}{
		{name: "literal only", format: "hello, world", want: "hello, world"},
		{name: "escaped percent", format: `100\% %response_code%\%`, want: "100% 503%"},
		{name: "backslash not before percent", format: `a\b %protocol%`, want: `a\b Http1`},
		{name: "adjacent variables", format: "%protocol%%response_code%", want: "Http1503"},
		{name: "text around", format: "[%protocol%] code=%response_code%.", want: "[Http1] code=503."},

		{name: "start_time", format: "%start_time%", want: "2024/07/20 07:05:04.173"},
		{name: "request_received_duration", format: "%request_received_duration%", want: "1.5ms"},
		{name: "response_received_duration", format: "%response_received_duration%", want: "12.003ms"},
		{name: "duration", format: "%duration%", want: "2m3.5s"},
		{name: "bytes_sent", format: "%bytes_sent%", want: "345"},
		{name: "bytes_received", format: "%bytes_received%", want: "12"},
		{name: "protocol", format: "%protocol%", want: "Http1"},
		{name: "response_code", format: "%response_code%", want: "503"},
		{name: "response_flag", format: "%response_flag%", want: "UF,URX"},
		{name: "response_flags", format: "%response_flags%", want: "UF,URX"},
		{name: "upstream_transport_failure_reason", format: "%upstream_transport_failure_reason%",
			want: "upstream_connection_failure,upstream_retry_limit_exceeded"},
		{name: "failure reason of an unknown code", format: "%upstream_transport_failure_reason%",
			entry: func(e *Entry) { e.ResponseFlags = "XY" }, want: "XY"},
		{name: "upstream_cluster", format: "%upstream_cluster%", want: "backend"},
		{name: "upstream_host", format: "%upstream_host%", want: "10.0.0.2:8080"},
		{name: "upstream_local_address", format: "%upstream_local_address%", want: "10.0.0.1:40000"},
		{name: "downstream_local_address", format: "%downstream_local_address%", want: "127.0.0.1:2045"},
		{name: "downstream_remote_address", format: "%downstream_remote_address%", want: "127.0.0.1:51000"},
		{name: "request headers", format: "%request_header_:method% %request_header_:path% %request_header_X-Request-ID% %request_header_user-agent%",
			want: "GET /a?b=c r-1 curl/8.4.0"},
		{name: "response headers", format: "%response_header_:status% %response_header_server%", want: "503 up"},
		{name: "missing header", format: "%request_header_x-missing%|%response_header_x-missing%", want: "-|-"},
		{name: "nil headers", format: "%request_header_:path%|%response_header_:status%",
			entry: func(e *Entry) { e.RequestHeaders, e.ResponseHeaders = nil, nil }, want: "-|-"},
		{name: "control bytes escaped", format: "%request_header_x-evil%",
			entry: func(e *Entry) { e.RequestHeaders.AddString("x-evil", "a\nb\x7fc\td") }, want: `a\x0ab\x7fc\x09d`},

		{name: "default format", format: "", want: "2024/07/20 07:05:04.173 1.5ms 12.003ms 345 12 Http1 503 2m3.5s UF,URX 503 10.0.0.1:40000 127.0.0.1:2045 127.0.0.1:51000 10.0.0.2:8080"},
		{name: "empty entry, default format", format: "", entry: func(e *Entry) { *e = Entry{} },
			want: "- 0s 0s 0 0 - 0 0s - 0 - - - -"},

		{name: "unknown variable", format: "%start_time% %foo%", wantErr: ErrUnknownVariable, errHas: "%foo%"},
		{name: "MOSN variable not recorded", format: "%route_name%", wantErr: ErrUnknownVariable, errHas: "does not record"},
		{name: "old MOSN name", format: "%StartTime%", wantErr: ErrUnknownVariable, errHas: "%StartTime%"},
		{name: "header prefix without a name", format: "%request_header_%", wantErr: ErrUnknownVariable, errHas: "no header name"},
		{name: "case matters", format: "%PROTOCOL%", wantErr: ErrUnknownVariable, errHas: "%PROTOCOL%"},
		{name: "unclosed", format: "%start_time% %duration", wantErr: ErrUnclosedVariable, errHas: "offset 13"},
		{name: "empty variable", format: "a %% b", wantErr: ErrEmptyVariable, errHas: "offset 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := parseFormat(tt.format)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("parseFormat(%q) error = %v, want %v containing %q", tt.format, err, tt.wantErr, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFormat(%q): %v", tt.format, err)
			}
			e := testEntry()
			if tt.entry != nil {
				tt.entry(e)
			}
			if got := string(f.append(nil, e)); got != tt.want {
				t.Errorf("format %q:\n got %q\nwant %q", tt.format, got, tt.want)
			}
		})
	}
}

// TestEveryVariableParses checks that every name the package documents
// parses to its own variable, and that literal text becomes one segment.
func TestEveryVariableParses(t *testing.T) {
	t.Parallel()
	names := map[string]variable{"response_flags": varResponseFlag}
	for v := varStartTime; v < varRequestHeader; v++ {
		names[v.String()] = v
	}
	if len(names) != 16 {
		t.Fatalf("%d variable names, want 16 (15 and an alias)", len(names))
	}
	for name, want := range names {
		f, err := parseFormat("<%" + name + "%>")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(f) != 3 || f[0] != (segment{v: varText, text: "<"}) || f[1].v != want || f[2] != (segment{v: varText, text: ">"}) {
			t.Errorf("%s parsed to %v", name, f)
		}
	}
	f, err := parseFormat("%request_header_X-A%%response_header_B%")
	if err != nil {
		t.Fatal(err)
	}
	want := format{{v: varRequestHeader, text: "x-a"}, {v: varResponseHeader, text: "b"}}
	if len(f) != 2 || f[0] != want[0] || f[1] != want[1] {
		t.Errorf("header variables parsed to %v, want %v", f, want)
	}
	f, err = parseFormat("")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f); got != 27 { // 14 variables and 13 spaces
		t.Errorf("default format has %d segments, want 27", got)
	}
}

func TestAppendDuration(t *testing.T) {
	t.Parallel()
	ds := []time.Duration{
		0, 1, 999, time.Microsecond, 1001, 1500 * time.Microsecond, time.Millisecond,
		12*time.Millisecond + 3*time.Microsecond, 999_999_999, time.Second, 1_000_000_001,
		59 * time.Second, time.Minute, time.Hour, 3*time.Hour + 7*time.Second + 5,
		2*time.Minute + 3500*time.Millisecond, math.MaxInt64, math.MinInt64, -1, -1500 * time.Microsecond,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		ds = append(ds, time.Duration(r.Int64N(int64(100*time.Hour))>>r.IntN(40)))
	}
	for _, d := range ds {
		if got, want := string(appendDuration(nil, d)), d.String(); got != want {
			t.Errorf("appendDuration(%d) = %q, want %q", int64(d), got, want)
		}
	}
}
