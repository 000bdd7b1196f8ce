//go:build unix

package network

import (
	"syscall"
	"unsafe"
)

// writev sends iov with one system call. syscall has no writev of its own,
// and x/sys/unix's allocates its iovec array on every call.
func writev(fd uintptr, iov []syscall.Iovec) (int, error) {
	n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
