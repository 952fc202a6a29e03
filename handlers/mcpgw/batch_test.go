package mcpgw

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/live"
)

func denyBatch(n int) string {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"secret"}}`, i)
	}
	return "[" + strings.Join(msgs, ",") + "]"
}

// A batch used to be read and decided whatever its length: one 4 MiB body of ~55,000 denied
// tools/call was ~55,000 decisions, each queued for the decision log, whose queue (10,000) then
// dropped the records of every key's calls until the writer caught up — one request could
// blind the log. A batch of more than MaxBatch messages is now refused before anything in it
// is decided (-32600, one "malformed" record), as the TypeScript SDK's transport refuses it.
func TestBatchLimit(t *testing.T) {
	f := newFakeUpstream(t)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: f.srv.URL + "/mcp"}})
	resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json", denyBatch(MaxBatch))
	if resp.StatusCode != http.StatusOK || strings.Count(body, "-32030") != MaxBatch {
		t.Fatalf("a batch of %d: %d %.300s", MaxBatch, resp.StatusCode, body)
	}
	if n := len(h.rec.all()); n != MaxBatch {
		t.Fatalf("a batch of %d: %d records", MaxBatch, n)
	}
	for _, url := range []string{h.url + "/mcp/gosrv", h.url + "/mcp"} {
		before := len(h.rec.all())
		resp, body = post(t, url, secretDev, "application/json", denyBatch(MaxBatch+1))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "-32600") || !strings.Contains(body, "batch") {
			t.Errorf("%s, a batch of %d: %d %.300s", url, MaxBatch+1, resp.StatusCode, body)
		}
		recs := h.rec.all()[before:]
		if len(recs) != 1 || recs[0].DecidedBy != DecidedByMalformed || recs[0].Key != "dev" {
			t.Errorf("%s, a batch of %d: records %+v", url, MaxBatch+1, recs)
		}
	}
	select {
	case b := <-f.bodies:
		t.Errorf("forwarded %.200s", b)
	default:
	}
}
