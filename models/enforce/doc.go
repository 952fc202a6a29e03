// Package enforce is Warden's enforcement logic, shared by every enforcement point: the MCP
// gateway (handlers/mcpgw) and the decision API (handlers.API) authenticate keys and answer
// access questions through it, so both refuse the same secrets for the same reasons and decide
// with the same cached accesses.
//
// It holds no HTTP on purpose. Where a secret or an end user comes from (headers, a JSON body,
// query parameters) and how a refusal is answered (401, a JSON-RPC error, a check response) are
// the enforcement point's business; this package starts from the secret and the names. Keeping
// transport out means one definition of authentication and expiry, testable without a server,
// and nothing here for a new enforcement point to copy.
//
// Allowed-ness comes only from the resolver (Snapshot.Decide, KeyInfo and KeyAccessFor) on the
// view Views returns. What this package adds is authentication (secret hashes, expiry, blocked
// keys, failing closed when there is no view to trust) and what it derives once per view: key
// expiries, the servers of the document and a bounded cache of accesses.
package enforce
