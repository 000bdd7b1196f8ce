package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a length of time written in JSON as a string that
// time.ParseDuration accepts, such as "10s", "1m30s" or "500ms". A number, a
// string without a unit or a negative duration is an error.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d as time.Duration formats it, such as "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a JSON string, such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string such as "10s". JSON null leaves d as it is.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf(`%s: invalid duration (write it as a string such as "10s")`, b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`%q: invalid duration (write it as a string such as "10s")`, s)
	}
	if v < 0 {
		return fmt.Errorf("%q: negative duration", s)
	}
	*d = Duration(v)
	return nil
}
