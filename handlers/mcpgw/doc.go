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
// Allowed-ness comes only from the resolver (Snapshot.Decide and KeyAccessFor) on the view that
// Views returns; the Enforcer adds authentication (key secret hashes, expiry) and per-view caches.
// The decision API (handlers.API) shares the Enforcer. Decisions are recorded through
// live.Recorder and counted on live.Metrics by the Observer.
package mcpgw
