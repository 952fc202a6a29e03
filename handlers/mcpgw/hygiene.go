package mcpgw

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// safeError is an error the gateway words itself: its text names no URL, host or address and is
// shown to clients as it is.
type safeError string

func (e safeError) Error() string { return string(e) }

// category says what went wrong reaching an upstream (or reading a client's request) in words
// that carry no URL, host, IP address or resolver: a client of the gateway learns that the
// server it named is unreachable and roughly why, never where it is. The error itself goes to
// the log, with the server's name.
func category(err error) string {
	var safe safeError
	var dns *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &safe):
		return string(safe)
	case errors.Is(err, errEventTooLarge):
		return "it sent a server-sent event larger than the gateway accepts"
	case errors.As(err, &dns):
		return "its host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostErr), errors.As(err, &recordErr):
		return "the TLS handshake failed"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return "the connection was lost"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "its network is unreachable"
	}
	return "the exchange failed"
}

// upstreamDown counts and logs a failed upstream exchange of the aggregate and returns the
// JSON-RPC error its client gets: the server's name and a category, never its address.
func (a *aggregator) upstreamDown(server string, err error) *jsonrpc.Error {
	a.g.obs.UpstreamError(server)
	a.g.log.Warn("mcp aggregate: upstream unreachable", "server", server, "err", err)
	return &jsonrpc.Error{Code: CodeUpstreamUnavailable, Message: fmt.Sprintf("upstream server %q is unreachable: %s", server, category(err))}
}
