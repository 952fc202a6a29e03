// The official TypeScript SDK client, driven by the gateway's end-to-end tests.
//
//   MCP_URL=http://.../mcp/everything WARDEN_KEY=wdn_... node client.mjs suite
//
// Modes:
//   suite  list tools, call an allowed and a denied tool, list and read resources, list and get
//          prompts; print one JSON object with every outcome.
//   wait   connect, print "ready", wait for a line on stdin, then call echo and print the outcome
//          (the test kills the upstream in between).
//   listchanged  connect, list tools and print the outcome so far; then wait for
//          notifications/tools/list_changed (or a line on stdin, or 30 s), list tools again and
//          print every outcome with "notified" (the test saves a policy change in between).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const mode = process.argv[2] || "suite";
const transport = new StreamableHTTPClientTransport(new URL(process.env.MCP_URL), {
  requestInit: { headers: { Authorization: `Bearer ${process.env.WARDEN_KEY}` } },
});
const client = new Client({ name: "warden-ts-test", version: "1.0.0" });
client.onerror = () => {}; // stream reconnection failures are expected once the upstream is gone

const out = {};
async function attempt(name, fn) {
  try {
    out[name] = { ok: await fn() };
  } catch (e) {
    out[name] = { error: String(e?.message ?? e), code: e?.code };
  }
}

await attempt("connect", async () => {
  await client.connect(transport);
  return client.getServerVersion()?.name ?? "";
});

if (mode === "suite" && out.connect.ok !== undefined) {
  await attempt("tools", async () => (await client.listTools()).tools.map((t) => t.name));
  await attempt("echo", async () => (await client.callTool({ name: "echo", arguments: { message: "from ts" } })).content);
  await attempt("denied", async () => (await client.callTool({ name: "get-env", arguments: {} })).content);
  await attempt("resources", async () => (await client.listResources()).resources.map((r) => r.uri));
  await attempt("read", async () => {
    const uri = out.resources.ok[0];
    return (await client.readResource({ uri })).contents.map((c) => c.uri);
  });
  await attempt("prompts", async () => (await client.listPrompts()).prompts.map((p) => p.name));
  await attempt("prompt", async () => (await client.getPrompt({ name: "simple-prompt" })).messages.length);
} else if (mode === "wait" && out.connect.ok !== undefined) {
  await attempt("before", async () => (await client.callTool({ name: "echo", arguments: { message: "before" } })).content);
  process.stdout.write("ready\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  const started = Date.now();
  await attempt("after", async () => (await client.callTool({ name: "echo", arguments: { message: "after" } }, undefined, { timeout: 20000 })).content);
  out.afterMillis = Date.now() - started;
} else if (mode === "listchanged" && out.connect.ok !== undefined) {
  const changed = new Promise((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve("notified")));
  await attempt("before", async () => (await client.listTools()).tools.map((t) => t.name));
  process.stdout.write(JSON.stringify(out) + "\n");
  const stopped = new Promise((resolve) => process.stdin.once("data", () => resolve("stopped")));
  const timedOut = new Promise((resolve) => setTimeout(() => resolve("timeout"), 30000));
  out.notified = (await Promise.race([changed, stopped, timedOut])) === "notified";
  await attempt("after", async () => (await client.listTools()).tools.map((t) => t.name));
}

process.stdout.write(JSON.stringify(out) + "\n");
await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
process.exit(0);
