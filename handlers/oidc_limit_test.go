package handlers

import (
	"testing"
	"time"
)

// One address may start 20 sign-ins at once, then one every 3 seconds; another address is not
// held back by it.
func TestFlowLimiter(t *testing.T) {
	var l flowLimiter
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range flowBurst {
		if !l.allow("192.0.2.1", now) {
			t.Fatalf("start %d refused", i+1)
		}
	}
	if l.allow("192.0.2.1", now) {
		t.Fatal("start 21 at once allowed")
	}
	if !l.allow("192.0.2.2", now) {
		t.Fatal("another address refused")
	}
	if !l.allow("192.0.2.1", now.Add(flowEvery)) {
		t.Fatal("refused after waiting")
	}
	if l.allow("192.0.2.1", now.Add(flowEvery)) {
		t.Fatal("two allowed after one interval")
	}
}
