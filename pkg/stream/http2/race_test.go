//go:build race

package http2

// raceEnabled: the race detector makes pooled buffers miss (sync.Pool
// drops items under it), so allocation budgets are looser.
const raceEnabled = true
