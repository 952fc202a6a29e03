// Package resolver decides who may use which MCP tool. It turns a models.Document (the whole
// permission state) into an immutable Snapshot that answers, without locks or allocation, whether
// one tool call is allowed and who decided it; and, for people, what every organization, team and
// key may use, why, and what an edit would change. This comment is the specification: the code
// implements exactly these rules (version 1), and the tests check them one by one.
//
// # Catalogues
//
// A server's catalogue is its tools minus its disabled_tools. Nothing outside a catalogue is ever
// allowed: not a disabled tool, not a tool the server does not have, not a tool of a server that
// does not exist, whatever any level grants.
//
// # What one level grants
//
// Each principal level (organization, team, key, agent, end user) has an optional mcp block.
// Without one (nil) the level does not restrict. With one, the level restricts to exactly what the
// block grants, so an empty block means "no MCP access". The block resolves to a grant, a map from
// server to a set of tools:
//
//  1. every server named in servers, and every server of every named access group, is granted
//     with its whole catalogue;
//  2. every server in the tools map is granted exactly the listed tools. This replaces step 1 for
//     that server (servers: [github] with tools: {github: [get_issue]} grants only get_issue), and
//     grants the server even when step 1 did not name it;
//  3. every server/tool of every named toolset is added (a union, after step 2);
//  4. everything is intersected with the catalogue; servers left with no tool drop out.
//
// Names that do not exist (servers, access groups, toolsets, tools, malformed "server/tool"
// entries) contribute nothing and are otherwise ignored: a level whose block names only such
// names grants nothing, which is the safe reading. Documents are validated before they get here,
// so this only matters for states in the middle of an edit.
//
// A level's deny_tools lists "server/tool" entries that are removed from the final result,
// whatever grants them; entries outside the catalogue do nothing.
//
// # The chain
//
// A key is used through its chain: [organization, team, key, agent, end user], in that order.
//
//   - The organization is the key's team's organization when the key has a team, otherwise the
//     key's own organization field. (A key with a team ignores its own organization field; a team
//     with no organization gives the key no organization level.)
//   - The agent is the key's bound agent (KeyDoc.Agent). A request may name an agent: for a key
//     bound to an agent, naming the same agent is fine and naming another one is refused (see
//     "Edge cases"); for an unbound key, the named agent becomes the agent level.
//   - The end user comes from the request.
//   - Missing levels are simply skipped: a teamless key has no team level, a key whose team has no
//     organization has no organization level, a request without an end user has no end user level.
//
// Organizations, teams and keys are principals; their own access is that of a shorter chain:
//
//	organization: [organization]
//	team:         [organization, team]
//	key:          [organization, team, key, bound agent]
//
// # Combination
//
// If the organization, the team or the key is blocked, there is no access at all. (Agents and
// end users cannot be blocked.) Otherwise:
//
//   - start unrestricted;
//   - for each level in chain order that has an mcp block: while still unrestricted, the result
//     becomes that level's grant; after that, it becomes the intersection with that level's grant
//     (per server, intersect the tool sets; drop servers left empty);
//   - if no level had an mcp block, the result is the public servers with their catalogues;
//   - finally, every tool named in any level's deny_tools is removed.
//
// So an organization's selection cascades to the teams and keys that set nothing, and caps those
// that set something: a lower level can narrow, never widen. A team and a key whose selections do
// not overlap leave the key with nothing, and the organization does not "refill" it. An
// organization (or any level) that restricts also caps public servers: public only matters when
// nothing in the chain restricts.
//
// # Decisions
//
// A decision for (key, server, tool, end user?, agent?) is allowed iff the tool is in the
// combined result of the request's chain. A denial names who decided it; the first match wins:
//
//  1. "blocked": the organization, team or key is blocked (the first blocked of them, in chain
//     order, is Decision.Principal and Decision.Level);
//  2. "agent" with cause agent_mismatch: the request names another agent than the key's bound one
//     (checked before the server because it refuses the whole request, whatever the tool);
//  3. "server": the server does not exist, or the tool is not in its catalogue (Cause tells
//     unknown_server, unknown_tool or disabled_tool);
//  4. walking the chain in order, the first level whose grant lacks the tool (cause not_granted)
//     or whose deny_tools names it (cause deny_tools): "organization", "team", "key", "agent" or
//     "end_user", with the level's name as Principal;
//  5. "default": no level restricts and the server is not public.
//
// An allowed decision has DecidedBy "". Decision.Reason renders one sentence, for example
// `tool github/delete_repo is denied by organization "acme": its deny_tools names it`.
//
// # Edge cases
//
//   - Unknown key: Decide, Explain and KeyAccessFor return a models.ENotFound error, not a
//     decision. The gateway authenticates keys before asking, so this is bad input.
//   - A request naming an agent that does not exist: the same error, even for a bound key.
//   - A request naming an existing agent other than the key's bound agent: denied, DecidedBy
//     "agent", Cause agent_mismatch, Principal the bound agent; KeyAccessFor returns empty access.
//   - A request naming an end user that does not exist: that level does not restrict. End users
//     are free-form ids passed by the gateway's callers; only those the document lists restrict.
//   - A key bound to an agent the document does not define: the binding still holds (a request
//     naming any other agent is refused) but the agent level does not restrict.
//   - A key naming a team that does not exist is treated as teamless (its own organization field
//     applies); a team naming an organization that does not exist has no organization level.
//   - A teamless key with no organization has the chain [key, agent, end user].
//   - Duplicate names in a document: the first entity of a name wins, later ones are ignored.
//   - Key expiry (expires_at) is not the resolver's concern: the gateway rejects expired keys.
//
// # Explanations
//
// Explain (for a request) and ExplainPrincipal (for an organization, team or key, the console's
// "Why?") break a result down level by level: what each level granted and from where (a server
// named directly, an access group, a toolset, a tool list, or the public servers when nothing
// restricts), what it capped of what the levels before it allowed, and what it denied. They come
// both as JSON-tagged structs for the UI and as text (Lines, String).
//
// # Diffs
//
// Diff lists, for every organization, team and key whose access differs between two snapshots,
// the tools gained and lost per server (principals without change are left out; a principal that
// exists on one side only gains or loses everything). It is always exact. When one snapshot was
// derived from the other (WithOrganization, WithTeam, WithKey, WithAgent, WithEndUser, Update),
// the derivation recorded which principals it recomputed (an organization: itself, its teams,
// their keys and its teamless keys; a team: itself and its keys; an agent: the keys bound to it;
// a key: itself; an end user: nobody) and Diff compares only those. Otherwise it compares every
// principal, which is cheap because snapshots are resolved: two equal results are the same
// pointer or share a hash. Changes finds the affected principals between two documents by
// comparing them entity by entity (a changed server or public flag affects everyone; a changed
// access group or toolset whoever names it), for DiffScoped.
//
// # Implementation
//
// Servers are numbered by name and each server's catalogue tools by name, so a set of tools is,
// per server, a bitset over that server's tools (tset). Sets are hash-consed while a snapshot is
// built: the many principals with equal results share one set, and the running state of a chain
// (restricted?, intersection so far, denials so far) is memoized per (state, level), so most keys
// cost a map lookup to resolve. Decide looks up the key, then server and tool in one map, and
// tests one bit in the key's resolved set; only denials (and requests that add an agent or end
// user) walk the chain to find who decided. Snapshots are never modified after they are returned;
// derivations copy what they change and share the rest, so a snapshot can be swapped in with an
// atomic pointer and read by any number of goroutines.
package resolver
