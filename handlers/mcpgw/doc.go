// Package mcpgw is Warden's MCP gateway: the enforcement point between MCP clients and the
// upstream MCP servers of the policy.
//
//   - /mcp/:server (Gateway.ServeServer) relays the MCP Streamable HTTP transport to one upstream:
//     POST, GET and DELETE with their MCP headers, event streams event by event. Each JSON-RPC
//     message of a POST is decoded with the MCP Go SDK's jsonrpc package; tools/call requests are
//     decided before anything is sent (a denial is answered by the gateway and never reaches the
//     upstream) and tools/list results are filtered to what the key may use. Everything else is
//     relayed unchanged.
//   - /mcp (Gateway.ServeAggregate) is an MCP server of the SDK whose sessions open SDK clients to
//     the upstreams lazily and offer every allowed tool as <server>__<tool>.
//
// Both endpoints authenticate the key, and check its access, before reading a byte of a body;
// the body is then read up to Config.MaxBodyBytes (413 beyond), once it fits in the body budget
// (BodyBudget: the bytes of bodies being read at once, per key and in all; 429 with
// CodeBodyBudget beyond, unread), so a valid key with stalled uploads holds only its share. A session belongs to the key that
// opened it: on /mcp/:server the gateway binds each session id an upstream issues to the key
// (relaySessions: another key gets 403, an id it holds no binding for 404, neither forwarded); on
// /mcp the SDK's sessions are bound likewise and a key holds at most Config.MaxSessionsPerKey
// (429 beyond). Once a request is authenticated and read, the http.Server's read and write
// deadlines are lifted for it (streams and slow upstreams outlive them) and each write is bounded
// by Config.StreamWriteTimeout instead. Errors shown to clients name an upstream server, never
// its URL, host, address or resolver: those go to the log.
//
// Allowed-ness comes only from the resolver (Snapshot.Decide and KeyAccessFor) on the view that
// Config.Views returns; authentication (key secret hashes, expiry, blocked keys) and the per-view
// caches are package models/enforce, which the decision API (handlers.API) shares: the gateway's
// Enforcer is the API's. This package adds only the HTTP side of it (where a secret and the end
// user and agent are read from: SecretFrom, PrincipalFrom; the revision header). Decisions are
// recorded through live.Recorder and counted on live.Metrics by the Observer.
package mcpgw
