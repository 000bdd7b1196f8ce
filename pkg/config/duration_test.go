package config

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string // JSON
		want time.Duration
		err  string // the whole error, "" for none
	}{
		{in: `"10s"`, want: 10 * time.Second},
		{in: `"1m30s"`, want: 90 * time.Second},
		{in: `"500ms"`, want: 500 * time.Millisecond},
		{in: `"0s"`, want: 0},
		{in: `"1h"`, want: time.Hour},
		{in: `null`, want: 7}, // leaves the value as it was
		{in: `"10"`, err: `"10": invalid duration (write it as a string such as "10s")`},
		{in: `10`, err: `10: invalid duration (write it as a string such as "10s")`},
		{in: `"ten seconds"`, err: `"ten seconds": invalid duration (write it as a string such as "10s")`},
		{in: `true`, err: `true: invalid duration (write it as a string such as "10s")`},
		{in: `"-1s"`, err: `"-1s": negative duration`},
	}
	for _, tt := range tests {
		d := Duration(7)
		err := json.Unmarshal([]byte(tt.in), &d)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s: error %v, want %s", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || d.D() != tt.want):
			t.Errorf("%s: got %v, %v; want %v", tt.in, d.D(), err, tt.want)
		case tt.err == "" && tt.in != "null":
			out, err := json.Marshal(d)
			var back Duration
			if err != nil || json.Unmarshal(out, &back) != nil || back != d {
				t.Errorf("%s: marshals as %s, %v", tt.in, out, err)
			}
		}
	}
	if out, _ := json.Marshal(Duration(90 * time.Second)); string(out) != `"1m30s"` {
		t.Errorf("MarshalJSON: %s", out)
	}
}

// TestDurationInConfig checks the path of a duration problem.
func TestDurationInConfig(t *testing.T) {
	t.Parallel()
	var v struct {
		Timeout *Duration `json:"timeout"`
	}
	ps := Decode("cfg", json.RawMessage(`{"timeout": "10"}`), &v)
	if len(ps) != 1 || ps[0].String() != `cfg.timeout: "10": invalid duration (write it as a string such as "10s")` {
		t.Errorf("problems: %v", ps)
	}
}
