/**
 * The Slurm test cluster leaves nothing behind: stop() cancels a running job and stops the
 * daemons; a test process killed outright (SIGKILL) is cleaned up after by the watchdog.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { clusterProcesses, startSlurmCluster } from "./slurm-cluster.ts";

async function until(check: () => boolean, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 10; i++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

function runningJob(): boolean {
  return spawnSync("squeue", ["-h", "-t", "RUNNING", "-o", "%i"], { encoding: "utf8" }).stdout.trim() !== "";
}

test("stop() cancels running jobs, stops the daemons and removes the cluster's folder", async () => {
  const cluster = await startSlurmCluster();
  let stopped = false;
  try {
    const submitted = spawnSync("sbatch", ["--parsable", `--output=${join(cluster.dir, "sleep.log")}`, "--wrap=sleep 300"], { encoding: "utf8" });
    assert.equal(submitted.status, 0, submitted.stderr);
    assert.ok(await until(runningJob, 20), cluster.logs());
    assert.ok(clusterProcesses(cluster.conf).length >= 4); // munged, slurmctld, slurmd, the job
    await cluster.stop();
    stopped = true;
    const left = clusterProcesses(cluster.conf).map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ");
      } catch {
        return `${pid} (gone while looking)`;
      }
    });
    assert.deepEqual(left, []);
    assert.equal(existsSync(cluster.dir), false);
    assert.equal(process.env["SLURM_CONF"], undefined);
  } finally {
    if (!stopped) await cluster.stop();
  }
});

test("a test process killed with SIGKILL: the watchdog cancels its jobs and stops its daemons", async () => {
  const script = [
    `import { startSlurmCluster } from ${JSON.stringify(new URL("./slurm-cluster.ts", import.meta.url).pathname)};`,
    'import { spawnSync } from "node:child_process";',
    "const cluster = await startSlurmCluster();",
    'spawnSync("sbatch", ["--output=/dev/null", "--wrap=sleep 300"]);',
    "console.log(cluster.conf);",
    "setInterval(() => {}, 1000);",
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const conf = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  process.env["SLURM_CONF"] = conf;
  try {
    assert.ok(await until(runningJob, 20));
    child.kill("SIGKILL");
    assert.ok(await until(() => clusterProcesses(conf).length === 0, 30), `left: ${clusterProcesses(conf).join(" ")}`);
    assert.ok(await until(() => !existsSync(conf), 5));
  } finally {
    delete process.env["SLURM_CONF"];
    child.kill("SIGKILL");
  }
});
