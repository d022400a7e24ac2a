/**
 * A real single-node Slurm cluster on localhost for tests: Debian's munged, slurmctld and slurmd
 * started without systemd in a temporary folder (about a second), stopped by `stop()`.
 *
 * Everything lives in the folder: a generated munge key and socket, slurm.conf (no accounting;
 * final states from `scontrol`/`squeue` and a jobcomp/filetxt log), state and spool folders, logs,
 * pid files. `SLURM_CONF` is set in this process's environment, so sbatch/squeue/scancel — run by
 * the executor under test and by the jobs themselves — talk to this cluster and no other. The
 * daemons run as root (slurmd must, to start jobs), on free ports.
 *
 * Nothing is left behind: `stop()` cancels the jobs first (a job still running when slurmd stops
 * would be orphaned), then stops slurmd, slurmctld and munged and removes the folder. If the test
 * process dies without calling it (a crash, SIGKILL), a watchdog shell does the same once this
 * process is gone.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

const DAEMONS = { munged: "/usr/sbin/munged", slurmctld: "/usr/sbin/slurmctld", slurmd: "/usr/sbin/slurmd" };
const CLIENTS = ["sbatch", "squeue", "scontrol", "scancel", "sinfo"];

export interface SlurmCluster {
  dir: string;
  conf: string;
  partition: string;
  /** The node's name, as Slurm knows it. */
  node: string;
  /** The jobcomp/filetxt log: one line per finished job. */
  jobcompLog: string;
  /** Tails of the daemons' logs, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Why this machine cannot run the cluster, or undefined when it can. */
export function slurmUnavailable(): string | undefined {
  const missing = Object.values(DAEMONS).filter((path) => !existsSync(path));
  for (const client of CLIENTS) {
    if (spawnSync("sh", ["-c", `command -v ${client}`]).status !== 0) missing.push(client);
  }
  if (missing.length > 0) return `missing ${missing.join(", ")}: run \`npm run setup\` as root (apt-get install slurm-wlm slurm-client munge)`;
  if (process.getuid?.() !== 0) return "slurmd must run as root to start jobs: run this test as root (as CI does)";
  return undefined;
}

/** A TCP port nobody listens on now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Job states in which a job still has (or will have) processes. */
const ACTIVE = "PENDING,RUNNING,COMPLETING,CONFIGURING,SUSPENDED";

/** Live processes (not zombies) that carry this cluster's SLURM_CONF: daemons, slurmstepd, jobs. */
export function clusterProcesses(conf: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      // A zombie's environment reads as empty.
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(`SLURM_CONF=${conf}`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Kills what this cluster may have left (a slurmstepd, a job's process) and waits until it is gone. */
async function killLeftovers(conf: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const left = clusterProcesses(conf);
    if (left.length === 0) return;
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Slurm test cluster: ${what} not ready after ${timeoutMs / 1000} s\n${logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function tail(path: string, lines = 15): string {
  if (!existsSync(path)) return `(${path}: none)`;
  return `== ${path}\n${readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n")}`;
}

/** The node line from `slurmd -C` (this machine's CPUs and memory), so slurmd does not drain it. */
function nodeHardware(): string {
  const out = spawnSync(DAEMONS.slurmd, ["-C"], { encoding: "utf8" }).stdout ?? "";
  const line = out.split("\n").find((l) => l.startsWith("NodeName=")) ?? "";
  const fields = line.split(/\s+/).filter((f) => /^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=/.test(f));
  return fields.length > 0 ? fields.join(" ") : "CPUs=1";
}

/**
 * `gpus`: the node announces this many GPUs as generic resources (stand-in devices, no real GPU),
 * so that jobs asking for `--gres=gpu:N` are scheduled as on a GPU cluster.
 */
export async function startSlurmCluster(options: { gpus?: number } = {}): Promise<SlurmCluster> {
  const unavailable = slurmUnavailable();
  if (unavailable) throw new Error(`cannot start a Slurm test cluster: ${unavailable}`);
  const dir = await mkdtemp(join(tmpdir(), "kielo-slurm-"));
  // munged insists that every folder above its socket is searchable by all.
  chmodSync(dir, 0o711);
  const munge = join(dir, "munge");
  mkdirSync(munge, { mode: 0o711 });
  for (const sub of ["state", "spool", "log"]) mkdirSync(join(dir, sub));
  const key = join(munge, "munge.key");
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const socket = join(munge, "socket");
  const node = hostname().split(".")[0] || "localhost";
  const partition = "kielo";
  const jobcompLog = join(dir, "log", "jobcomp.txt");
  const conf = join(dir, "slurm.conf");
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, "plugstack.conf"), "");
  if (options.gpus) {
    // slurmd counts a GPU per device file and wants character devices: harmless ones stand in.
    const devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/urandom"].slice(0, options.gpus);
    if (devices.length < options.gpus) throw new Error(`the Slurm test cluster fakes at most ${devices.length} GPUs`);
    writeFileSync(join(dir, "gres.conf"), `AutoDetect=off\nNodeName=${node} Name=gpu File=${devices.join(",")}\n`);
  }
  writeFileSync(
    conf,
    [
      "ClusterName=kielotest",
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, "state")}`,
      `SlurmdSpoolDir=${join(dir, "spool")}`,
      `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
      `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
      `SlurmctldLogFile=${join(dir, "log", "slurmctld.log")}`,
      `SlurmdLogFile=${join(dir, "log", "slurmd.log")}`,
      // The system's plugstack.conf may name plugins this cluster does not have.
      `PlugStackConfig=${join(dir, "plugstack.conf")}`,
      // No cgroups (containers rarely allow them) and no accounting database.
      "ProctrackType=proctrack/pgid",
      "TaskPlugin=task/none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      "JobCompType=jobcomp/filetxt",
      `JobCompLoc=${jobcompLog}`,
      // A job whose dependency failed is cancelled at once (not left pending forever).
      "DependencyParameters=kill_invalid_depend",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_CPU",
      "MpiDefault=none",
      "ReturnToService=2",
      // SIGKILL 20 s after scancel's SIGTERM (default 30 s): time for kielo to checkpoint on a busy
      // machine, and a stuck job still ends within a test's time.
      "KillWait=20",
      ...(options.gpus ? ["GresTypes=gpu"] : []),
      `NodeName=${node} NodeAddr=127.0.0.1 ${nodeHardware()}${options.gpus ? ` Gres=gpu:${options.gpus}` : ""} State=UNKNOWN`,
      `PartitionName=${partition} Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      "",
    ].join("\n"),
  );
  process.env["SLURM_CONF"] = conf;
  const env = { ...process.env, SLURM_CONF: conf };
  const logs = () => [tail(join(munge, "munged.log")), tail(join(dir, "log", "slurmctld.log")), tail(join(dir, "log", "slurmd.log"))].join("\n");

  const children: ChildProcess[] = [];
  let stopping = false;
  const start = (path: string, args: string[]) => {
    const child = spawn(path, args, { env, stdio: "ignore" });
    child.on("error", () => {});
    children.push(child);
    return child;
  };
  // The watchdog cleans up if this process dies without stop(): it polls this process's pid.
  const pids = () => children.map((c) => c.pid).filter(Boolean).join(" ");
  let watchdog: ChildProcess | undefined;
  const armWatchdog = () => {
    watchdog?.kill("SIGKILL");
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      "scancel --full --user=root 2>/dev/null",
      `for i in $(seq 50); do [ -z "$(squeue -h -t ${ACTIVE} -o %i 2>/dev/null)" ] && break; sleep 0.5; done`,
      `kill ${pids()} 2>/dev/null; sleep 1; kill -9 ${pids()} 2>/dev/null`,
      // Anything else of this cluster (a slurmstepd, a job's process) carries its SLURM_CONF.
      `for p in /proc/[0-9]*; do [ "\${p#/proc/}" != $$ ] && grep -qzx 'SLURM_CONF=${conf}' $p/environ 2>/dev/null && kill -9 "\${p#/proc/}"; done`,
      `rm -rf '${dir}'`,
    ].join("; ");
    watchdog = spawn("sh", ["-c", script], { env, stdio: "ignore", detached: true });
    watchdog.unref();
  };

  const stop = async () => {
    // Jobs first: slurmd stopped under a running job would leave its processes behind.
    spawnSync("scancel", ["--full", "--user=root"], { env, stdio: "ignore" });
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline) {
      const active = spawnSync("squeue", ["-h", "-t", ACTIVE, "-o", "%i"], { env, encoding: "utf8" });
      if (active.status !== 0 || active.stdout.trim() === "") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    watchdog?.kill("SIGKILL");
    await killLeftovers(conf);
    if (process.env["SLURM_CONF"] === conf) delete process.env["SLURM_CONF"];
    await rm(dir, { recursive: true, force: true });
  };

  try {
    start(DAEMONS.munged, ["--foreground", `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(munge, "munged.pid")}`, `--log-file=${join(munge, "munged.log")}`, `--seed-file=${join(munge, "munged.seed")}`]);
    armWatchdog();
    await waitFor("munged", () => existsSync(socket), 10_000, logs);
    // -D: stay in the foreground (children of this process); -i: ignore any saved state.
    start(DAEMONS.slurmctld, ["-D", "-i"]);
    start(DAEMONS.slurmd, ["-D"]);
    armWatchdog();
    for (const child of children) {
      child.once("exit", (code, signal) => {
        if (!stopping) process.stderr.write(`Slurm test cluster: ${child.spawnfile} exited (${code ?? signal})\n${logs()}\n`);
      });
    }
    await waitFor(
      "the node",
      () => spawnSync("sinfo", ["-h", "-N", "-o", "%T"], { env, encoding: "utf8" }).stdout?.trim() === "idle",
      20_000,
      logs,
    );
  } catch (error) {
    stopping = true;
    await stop();
    throw error;
  }
  return {
    dir,
    conf,
    partition,
    node,
    jobcompLog,
    logs,
    stop: async () => {
      stopping = true;
      await stop();
    },
  };
}
