// Runs the nltk peer (nltk_peer.py) once on a batch of requests and returns its answers.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const peerScript = fileURLToPath(new URL("./nltk_peer.py", import.meta.url));
const python = process.env.KIELO_PYTHON ?? fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));
const nltkData = fileURLToPath(new URL("../../../resources/nltk_data", import.meta.url));

export interface PeerRequest {
  language: string;
  texts: string[];
}

export interface PeerResult {
  punkt_dir: string;
  sentences: string[][];
  tokens: string[][];
}

export interface PeerAnswer {
  nltk: string;
  results: PeerResult[];
}

export function runNltkPeer(requests: PeerRequest[]): PeerAnswer {
  const run = spawnSync(python, [peerScript], {
    cwd: repoRoot,
    input: JSON.stringify({ requests }),
    env: { ...process.env, NLTK_DATA: nltkData, PYTHONIOENCODING: "utf-8" },
    maxBuffer: 256 * 1024 * 1024,
    encoding: "utf8",
  });
  if (run.error !== undefined) throw run.error;
  if (run.status !== 0) throw new Error(`nltk peer failed (${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout) as PeerAnswer;
}
