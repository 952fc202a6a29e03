//go:build unix

package resolver

import "syscall"

// cpuNanos is the CPU time (user + system, all threads, GC included) the process has used. The
// benchmarks report it per operation next to wall time, because the shared 2-core machine they
// run on is often busy with other work, which inflates wall time but not CPU time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
