//go:build !unix

package resolver

func cpuNanos() int64 { return 0 }
