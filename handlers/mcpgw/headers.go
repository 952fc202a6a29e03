package mcpgw

import (
	"net/http"
	"strings"
	"time"

	"github.com/warden-mcp/warden/models/enforce"
)

// RevisionHeader is carried by every gateway and decision API response: the policy revision the
// answer was decided at ("0" when no policy is loaded).
const RevisionHeader = "X-Warden-Revision"

// Request headers a client uses to authenticate and to name who it acts for.
const (
	KeyHeader     = "X-Warden-Key"
	EndUserHeader = "X-Warden-End-User"
	AgentHeader   = "X-Warden-Agent"
)

// missingKey is the refusal of a request that sends no secret: it says where to send one.
const missingKey = "missing Warden key: send Authorization: Bearer <secret> or " + KeyHeader

// SecretFrom returns the key secret of a request: X-Warden-Key, else an Authorization bearer token.
func SecretFrom(h http.Header) string {
	if k := strings.TrimSpace(h.Get(KeyHeader)); k != "" {
		return k
	}
	a := h.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// Authenticate authenticates the key secret a request's headers carry (enforce.Policy.Authenticate);
// a request that carries none is told which headers to send it in. Refusals are *enforce.AuthError.
func Authenticate(pol *enforce.Policy, h http.Header, now time.Time) (string, error) {
	secret := SecretFrom(h)
	if secret == "" {
		return "", &enforce.AuthError{Message: missingKey}
	}
	return pol.Authenticate(secret, now)
}

// PrincipalFrom authenticates a request's key (Authenticate) and reads the end user and agent its
// headers name.
func PrincipalFrom(pol *enforce.Policy, h http.Header, now time.Time) (enforce.Principal, error) {
	key, err := Authenticate(pol, h, now)
	if err != nil {
		return enforce.Principal{}, err
	}
	return enforce.Principal{Key: key, EndUser: strings.TrimSpace(h.Get(EndUserHeader)), Agent: strings.TrimSpace(h.Get(AgentHeader))}, nil
}
