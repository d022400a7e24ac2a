/**
 * `kielo serve`: a small read-only web app over kielo.db (node:http, no framework: a dozen GET
 * routes do not need one). kielo.db is opened read-only (after an older file's schema is brought up
 * to date, as every command does) and read on every request, so a training
 * running beside it shows up live. The page is static HTML/JS from src/serve/static/, the charts
 * uPlot's own build from node_modules; nothing is fetched from the network.
 *
 * Every request is answered: 4xx with a JSON (API) or text message for a request that cannot be
 * served, 500 with a short message (details on the server's stderr) for a bug — never a stack trace.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { openStoreReadOnly, type Store } from "../store/db.ts";
import { KieloError } from "../util/errors.ts";
import { answersApi, compareApi, listRunsApi, metricsApi, pairedAnswersApi, RequestError, runApi, runId } from "./api.ts";

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), "static");
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve("uplot"));

/** The files the app is made of: a fixed list, so no request path reaches the file system here. */
const STATIC: Record<string, string> = {
  "/": join(STATIC_DIR, "index.html"),
  "/static/app.js": join(STATIC_DIR, "app.js"),
  "/static/app.css": join(STATIC_DIR, "app.css"),
  "/static/uplot.js": join(UPLOT_DIR, "uPlot.iife.min.js"),
  "/static/uplot.css": join(UPLOT_DIR, "uPlot.min.css"),
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
};

export interface ServeOptions {
  db: string;
  /** A folder of study reports (one HTML folder each), served under /reports/. */
  reports?: string;
  host: string;
  port: number;
}

export function startServer(options: ServeOptions): Promise<Server> {
  const db = openStoreReadOnly(options.db);
  const reports = options.reports === undefined ? undefined : realpathSync(resolve(options.reports));
  const server = createServer((request, response) => {
    try {
      handle(db, options.db, reports, request, response);
    } catch (error) {
      fail(request, response, error);
    }
  });
  server.on("close", () => db.close());
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolvePromise(server));
  });
}

function handle(db: Store, dbPath: string, reports: string | undefined, request: IncomingMessage, response: ServerResponse): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("Allow", "GET, HEAD");
    throw new RequestError(405, "read-only: only GET requests");
  }
  let url: URL;
  let path: string;
  try {
    url = new URL(request.url ?? "/", "http://localhost");
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new RequestError(400, "malformed URL");
  }
  const query = url.searchParams;
  if (path === "/api/info") return json(response, 200, { db: dbPath, reports: reports !== undefined });
  if (path.startsWith("/api/")) return json(response, 200, api(db, path, query));
  if (path === "/favicon.ico") return void response.writeHead(204).end();
  if (path === "/reports" || path.startsWith("/reports/")) return serveReport(reports, path, response);
  const file = STATIC[path];
  if (file === undefined) throw new RequestError(404, `not found: ${path}`);
  sendFile(response, file);
}

function api(db: Store, path: string, query: URLSearchParams): unknown {
  const parts = path.split("/").filter(Boolean).slice(1); // after "api"
  const [first, second, third] = parts;
  if (first === "runs" && parts.length === 1) return listRunsApi(db, query);
  if (first === "runs" && second !== undefined) {
    const id = runId(db, second);
    if (parts.length === 2) return runApi(db, id);
    if (parts.length === 3 && third === "metrics") return metricsApi(db, id);
    if (parts.length === 3 && third === "answers") return answersApi(db, id, query);
  }
  if (first === "compare" && parts.length === 1) return compareApi(db, query);
  if (first === "paired-answers" && parts.length === 1) return pairedAnswersApi(db, query);
  throw new RequestError(404, `no such API: ${path}`);
}

/** A report folder's page: index.html, else report.html (the page `kielo study report` writes). */
function reportPage(dir: string): string | undefined {
  return ["index.html", "report.html"].find((name) => existsSync(join(dir, name)));
}

/**
 * /reports/ lists the report folders; /reports/<folder>/<file> serves a file inside the reports
 * folder only. A folder is a report (its page in it) or a study's work dir (its page in report/),
 * so both `--reports study-runs/` and a folder of `kielo study report --out` folders work.
 */
function serveReport(reports: string | undefined, path: string, response: ServerResponse): void {
  if (reports === undefined) throw new RequestError(404, "no reports folder (start kielo serve with --reports <dir>)");
  const relative = path.replace(/^\/reports\/?/, "");
  if (relative === "") {
    const folders = readdirSync(reports, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const url = (name: string) => {
      const dir = join(reports, name);
      return `/reports/${encodeURIComponent(name)}/${reportPage(dir) === undefined && reportPage(join(dir, "report")) !== undefined ? "report/" : ""}`;
    };
    return json(response, 200, folders.map((name) => ({ name, url: url(name) })));
  }
  if (relative.split("/").some((part) => part === ".." || part === ".") || relative.includes("\0")) throw new RequestError(400, "path outside the reports folder");
  let target = resolve(reports, relative);
  if (existsSync(target) && statSync(target).isDirectory()) {
    // The page's relative links (its CSV and SVG files) resolve only under a URL ending in "/".
    if (!path.endsWith("/")) return void response.writeHead(301, { Location: `${encodeURI(path)}/` }).end();
    target = join(target, reportPage(target) ?? "index.html");
  }
  if (!existsSync(target)) throw new RequestError(404, `not found: ${path}`);
  // A link inside the folder must not lead out of it either.
  const real = realpathSync(target);
  if (!real.startsWith(reports + sep)) throw new RequestError(403, "path outside the reports folder");
  sendFile(response, real);
}

function sendFile(response: ServerResponse, file: string): void {
  const body = readFileSync(file);
  response.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": body.length, "Cache-Control": "no-store" });
  response.end(body);
}

function json(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  response.end(body);
}

function fail(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  const status = error instanceof RequestError ? error.status : error instanceof KieloError ? 400 : 500;
  const message = status === 500 ? "internal error (details on the server's stderr)" : (error as Error).message;
  if (status === 500) process.stderr.write(`kielo serve: ${request.method} ${request.url}: ${(error as Error)?.stack ?? String(error)}\n`);
  if (response.headersSent) return void response.end();
  const isApi = (request.url ?? "").startsWith("/api/");
  if (isApi) return json(response, status, { error: message });
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(`${status}: ${message}\n`);
}
