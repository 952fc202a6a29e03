package seal_test

import (
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/seal"
)

const (
	keyA = "q0Pp1Yb0l3oQm0c8Rr2gN6Xo9k3WfGJ4a7tLcHhZs5E="
	keyB = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo="
)

func mustKey(t *testing.T, s string) *seal.Key {
	t.Helper()
	k, err := seal.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := mustKey(t, keyA)
	v, err := k.Seal([]byte("Bearer s3cret"), []byte("github"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "v1:"+k.ID()+":") || strings.Contains(v, "s3cret") || !seal.IsSealed(v) {
		t.Fatalf("sealed value %q", v)
	}
	v2, _ := k.Seal([]byte("Bearer s3cret"), []byte("github"))
	if v2 == v {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	pt, err := k.Open(v, []byte("github"))
	if err != nil || string(pt) != "Bearer s3cret" {
		t.Fatalf("open: %q %v", pt, err)
	}
	// The same key given in another base64 alphabet opens it too.
	url := strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(keyA)
	if pt, err := mustKey(t, url).Open(v, []byte("github")); err != nil || string(pt) != "Bearer s3cret" {
		t.Errorf("URL-safe form of the key: %q %v", pt, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	k := mustKey(t, keyA)
	v, _ := k.Seal([]byte("Bearer s3cret"), []byte("github"))
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, c := range []struct {
		name, value, ad string
		key             *seal.Key
		want            string
	}{
		{"another key", v, "github", mustKey(t, keyB), "sealed under another WARDEN_SECRET_KEY"},
		{"another row", v, "jira", k, "does not authenticate"},
		{"a flipped ciphertext byte", flip(v, len(v)-5), "github", k, "does not authenticate"},
		{"a flipped nonce byte", flip(v, len("v1:")+17+2), "github", k, "does not authenticate"},
		{"truncated", v[:len("v1:")+17+10], "github", k, "malformed"},
		{"plain text", `{"Authorization":"Bearer s3cret"}`, "github", k, "format"},
		{"another version", "v2:" + v[3:], "github", k, "format"},
	} {
		_, err := c.key.Open(c.value, []byte(c.ad))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

func TestParseKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "is not set"},
		{"not base64!", "not base64"},
		{"c2hvcnQ=", "want at least 32"},
		{strings.Repeat("A", 44), "does not look random"},
		{"correct horse battery staple correct horse", "not base64"},
	} {
		_, err := seal.ParseKey(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("ParseKey(%q): %v, want %q and how to make one", c.in, err, c.want)
		}
	}
	if mustKey(t, keyA).ID() == mustKey(t, keyB).ID() {
		t.Error("two keys share an id")
	}
}
