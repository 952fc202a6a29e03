package models

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// reservedUpstreamHeaders are headers an upstream header may not set: hop-by-hop headers (they
// describe one connection, not the request) and those the gateway itself writes for each
// request (body framing, the target's host, the MCP session).
var reservedUpstreamHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Content-Type": true, "Mcp-Session-Id": true,
}

// CheckUpstreamHeader says what is wrong with a header the gateway would add upstream, or nil.
// The error names the header, never its value.
func CheckUpstreamHeader(name, value string) error {
	if !httpguts.ValidHeaderFieldName(name) {
		return fmt.Errorf("%q is not a valid HTTP header name", name)
	}
	if reservedUpstreamHeaders[http.CanonicalHeaderKey(name)] {
		return fmt.Errorf("%s is a hop-by-hop header or one the gateway sets itself", http.CanonicalHeaderKey(name))
	}
	if value == "" {
		return fmt.Errorf("%s has an empty value", name)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return fmt.Errorf("the value of %s contains control characters", name)
	}
	return nil
}

// ParseHeaderLines reads upstream headers as `warden server set-headers` takes them: one
// "Name: value" a line, blank lines ignored, names canonicalised (Authorization, X-Api-Key).
// Each problem is an EInvalid error with its line number; no error contains a value. No lines
// at all give an empty map (clear the headers).
func ParseHeaderLines(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	line := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		name, value, ok := strings.Cut(text, ":")
		if !ok {
			return nil, Errorf(EInvalid, "line %d: want \"Name: value\", found no colon", n)
		}
		value = strings.Trim(value, " \t")
		if err := CheckUpstreamHeader(name, value); err != nil {
			return nil, Errorf(EInvalid, "line %d: %v", n, err)
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		if first, dup := line[key]; dup {
			return nil, Errorf(EInvalid, "line %d: header %s is already set on line %d", n, key, first)
		}
		line[key] = n
		out[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, Errorf(EInvalid, "read headers: %v", err)
	}
	return out, nil
}
