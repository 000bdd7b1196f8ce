//go:build !linux

package network

import (
	"errors"
	"sync/atomic"
)

// ErrNoEventLoop is returned by NewEventLoopModel where there is no epoll.
var ErrNoEventLoop = errors.New("the event-loop IO model needs Linux (epoll)")

// EventLoopModel is the event-loop IO model, which needs Linux; see
// netpoll_linux.go. Here NewEventLoopModel fails, and a zero EventLoopModel
// falls back to GoroutineModel.
type EventLoopModel struct{}

var _ IOModel = (*EventLoopModel)(nil)

// NewEventLoopModel returns ErrNoEventLoop: this system has no epoll.
func NewEventLoopModel(n int) (*EventLoopModel, error) { return nil, ErrNoEventLoop }

// Loops is 0.
func (m *EventLoopModel) Loops() int { return 0 }

// Start starts c under GoroutineModel.
func (m *EventLoopModel) Start(c *Conn) { GoroutineModel{}.Start(c) }

// Close does nothing.
func (m *EventLoopModel) Close() {}

func (m *EventLoopModel) pick() *eventLoop { return nil }

// eventLoop is never made here.
type eventLoop struct{}

func (l *eventLoop) Start(c *Conn)   { GoroutineModel{}.Start(c) }
func (l *eventLoop) kick(*Conn) bool { return false }
func (l *eventLoop) detach(c *Conn)  { c.nc.Close() }
func (c *Conn) idleFired()           {}

type loopState struct {
	slot     int32
	starting atomic.Bool
}
