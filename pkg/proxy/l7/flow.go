package l7

import (
	"sync"

	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// flow is a request's back-pressure: a backed-up upstream connection pauses
// reading the client, a backed-up client pauses reading the upstream.
// Watermark events arrive on the stack of whoever wrote, which often holds
// the request's mutex, so flow has a lock of its own; it is held only around
// ReadDisable calls, which never block.
type flow struct {
	mu         sync.Mutex
	down       stream.ServerStream
	downPaused bool                // we paused receiving the request
	downHigh   bool                // the client's queue is above its limit
	up         stream.ClientStream // the attempt whose response is read
	upPaused   bool
}

// upstreamBackedUp pauses or resumes receiving the request while the
// upstream connection is backed up with its body.
func (f *flow) upstreamBackedUp(high bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pauseDown(high)
}

func (f *flow) pauseDown(pause bool) {
	if pause != f.downPaused {
		f.downPaused = pause
		f.down.ReadDisable(pause)
	}
}

// downstreamBackedUp pauses or resumes receiving the response while the
// client reads slower than the upstream sends.
func (f *flow) downstreamBackedUp(high bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.downHigh = high
	f.pauseUp(high)
}

func (f *flow) pauseUp(pause bool) {
	if f.up != nil && pause != f.upPaused {
		f.upPaused = pause
		f.up.ReadDisable(pause)
	}
}

// attach makes s the upstream stream being read, paused at once if the
// client is backed up.
func (f *flow) attach(s stream.ClientStream) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up, f.upPaused = s, false
	f.pauseUp(f.downHigh)
}

// detach resumes s if it was paused (its connection may go back to a pool)
// and stops reading it.
func (f *flow) detach(s stream.ClientStream) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up == s {
		f.pauseUp(false)
		f.up = nil
	}
}

// release resumes everything the request paused.
func (f *flow) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pauseDown(false)
	f.pauseUp(false)
}
