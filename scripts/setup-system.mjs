// Debian packages some tests drive for real (a browser, a Slurm cluster on localhost). Run by
// `npm run setup`: installs the missing ones with apt-get when running as root; otherwise prints
// the command to run and goes on (the tests that need them then fail, saying what is missing).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian package → a file it installs (present = installed). */
const PACKAGES = {
  chromium: "/usr/bin/chromium",
  "slurm-wlm": "/usr/sbin/slurmctld",
  "slurm-client": "/usr/bin/sbatch",
  munge: "/usr/sbin/munged",
};

if (process.env.KIELO_SKIP_SYSTEM === "1") process.exit(0);
const missing = Object.entries(PACKAGES).filter(([, file]) => !existsSync(file)).map(([name]) => name);
if (missing.length === 0) {
  console.log("setup: system packages present");
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.warn(`setup: missing Debian packages ${missing.join(", ")}; as root run:\n  apt-get install -y ${missing.join(" ")}`);
  process.exit(0);
}
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
for (const args of [["update", "-q"], ["install", "-y", "-q", "--no-install-recommends", ...missing]]) {
  console.log(`$ apt-get ${args.join(" ")}`);
  const result = spawnSync("apt-get", args, { stdio: "inherit", env });
  if (result.status !== 0) {
    console.error(`setup: apt-get ${args[0]} failed (exit ${result.status}); the browser and Slurm tests will fail`);
    process.exit(result.status ?? 1);
  }
}
