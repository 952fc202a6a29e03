// Command stall holds many connections to a running `warden serve` the way a resource
// exhaustion attack would (finding 5 of issue 8), and reports what the server keeps: its
// resident memory (VmRSS of /proc/PID/status) and how many of the connections it still holds.
// It lives under testdata so that `go build ./...` and `go vet ./...` leave it out; run.sh
// beside it builds and runs it against a fresh server. Loopback only.
//
//	stall -addr 127.0.0.1:8080 -pid PID -mode body -n 100 -size 4194304 [-key SECRET]
//	stall -addr 127.0.0.1:8080 -pid PID -mode trickle -n 300 -every 2s -hold 38s [-length 4194304]
//
// body: each connection sends the headers of a POST to /mcp/github and then size bytes of
// body as fast as the server takes them, and stalls before the last byte. trickle: each
// connection sends the headers and then one byte of body every -every. A connection counts as
// held while the server has neither closed it nor refused a write.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the server (loopback)")
	pid := flag.Int("pid", 0, "the server's process id, to read its resident memory")
	mode := flag.String("mode", "body", "body or trickle")
	n := flag.Int("n", 100, "connections")
	size := flag.Int("size", 4<<20, "body bytes sent before stalling (body mode)")
	length := flag.Int("length", 4<<20, "Content-Length announced (trickle mode)")
	every := flag.Duration("every", 2*time.Second, "one byte every (trickle mode)")
	hold := flag.Duration("hold", 38*time.Second, "how long to hold the connections")
	key := flag.String("key", "", "a Warden key secret to send (default: none)")
	path := flag.String("path", "/mcp/github", "the request path")
	flag.Parse()
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(os.Stderr, "stall: -addr must be a loopback address")
		os.Exit(2)
	}

	before := rss(*pid)
	var open, written atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	announced := *length
	if *mode == "body" {
		announced = *size + 1 // the last byte never comes
	}
	auth := ""
	if *key != "" {
		auth = "Authorization: Bearer " + *key + "\r\n"
	}
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n",
		*path, *addr, auth, announced)
	start := time.Now()
	for i := 0; i < *n; i++ {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "stall: connection %d: %v\n", i, err)
			continue
		}
		open.Add(1)
		var once sync.Once
		lost := func() { once.Do(func() { open.Add(-1) }) }
		wg.Add(2)
		go func() { // the server closing the connection ends this read
			defer wg.Done()
			io.Copy(io.Discard, c)
			lost()
		}()
		go func() {
			defer wg.Done()
			defer c.Close()
			if _, err := io.WriteString(c, head); err != nil {
				lost()
				return
			}
			switch *mode {
			case "body":
				chunk := []byte(strings.Repeat(" ", 64<<10))
				for left := *size; left > 0; {
					k := min(left, len(chunk))
					c.SetWriteDeadline(time.Now().Add(*hold))
					m, err := c.Write(chunk[:k])
					written.Add(int64(m))
					if err != nil {
						if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
							lost()
						}
						break
					}
					left -= m
				}
				<-stop
			case "trickle":
				t := time.NewTicker(*every)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if _, err := c.Write([]byte(" ")); err != nil {
							lost()
							return
						}
						written.Add(1)
					}
				}
			}
		}()
	}
	peak := before
	deadline := start.Add(*hold)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		peak = max(peak, rss(*pid))
	}
	end := rss(*pid)
	held := open.Load()
	close(stop)
	fmt.Printf("mode=%s n=%d key=%v after %s: held %d of %d; body bytes written %d; server VmRSS before %s, peak %s, at the end %s\n",
		*mode, *n, *key != "", hold.Round(time.Second), held, *n, written.Load(), mb(before), mb(peak), mb(end))
}

// rss is the resident memory of pid in kB (0 when unknown).
func rss(pid int) int64 {
	if pid == 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb
		}
	}
	return 0
}

func mb(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1000) }
