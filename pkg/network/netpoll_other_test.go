//go:build !linux

package network

import "testing"

// newTestLoops skips: there is no event-loop model here.
func newTestLoops(t *testing.T) IOModel {
	t.Skip("the event-loop IO model needs Linux")
	return nil
}
