// An MCP server written the way the TypeScript SDK's examples write one: Express with
// express.json() in front of the SDK's Streamable HTTP transport (stateless), given the parsed
// body. Its tools are "echo" and "get-env" (which answers with WARDEN_E2E_ENV_MARKER).
// express.json() decodes a body in the charset its Content-Type names (any "utf-*", UTF-7
// included), which is how the gateway's tests check that what the upstream reads is what Warden
// read.
//
//   PORT=8123 node expressjson.mjs
import express from "express";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

function newServer() {
  const server = new Server({ name: "expressjson", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: "echo", inputSchema: { type: "object" } },
      { name: "get-env", inputSchema: { type: "object" } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const text = req.params.name === "get-env" ? "env:" + (process.env.WARDEN_E2E_ENV_MARKER ?? "") : "echo";
    return { content: [{ type: "text", text }] };
  });
  return server;
}

const app = express();
app.use(express.json());
app.post("/mcp", async (req, res) => {
  const server = newServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
app.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
