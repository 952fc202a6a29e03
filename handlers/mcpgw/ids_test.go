package mcpgw

import (
	"net/http"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/live"
)

// A number id was read as a float and truncated to an int64: the denial of id 1.5 was
// answered as id 1, of 9007199254740993 as 9007199254740992, of 1e300 as
// -9223372036854775808, so a client could not tell which request was denied (in a batch with
// an id 1, two answers said id 1). An id Warden answers is now one every reader reads alike: a
// string, null, or an integer of at most 2^53-1 in magnitude (what JavaScript represents
// exactly); any other number is refused (-32600) before anything is decided.
func TestNumberIDs(t *testing.T) {
	f := newFakeUpstream(t)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: f.srv.URL + "/mcp"}})
	call := func(id string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"secret"}}`
	}
	for id, want := range map[string]string{"7": "7", "-7": "-7", "9007199254740991": "9007199254740991", "1e2": "100", "2.0": "2", "0.1e1": "1", `"1.5"`: `"1.5"`} {
		resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json", call(id))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"id":`+want+`,"error":{"code":-32030`) {
			t.Errorf("id %s: want the denial with id %s, got %d %s", id, want, resp.StatusCode, body)
		}
	}
	for _, id := range []string{"1.5", "9007199254740993", "-9007199254740993", "1e300", "12345678901234567890"} {
		for _, b := range []string{call(id), "[" + call("1") + "," + call(id) + "]"} {
			before := len(h.rec.all())
			resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json", b)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "-32600") || !strings.Contains(body, `"id":null`) {
				t.Errorf("id %s in %s: %d %s", id, b, resp.StatusCode, body)
			}
			if recs := h.rec.all()[before:]; len(recs) != 1 || recs[0].DecidedBy != DecidedByMalformed {
				t.Errorf("id %s: records %+v", id, recs)
			}
		}
	}
}
