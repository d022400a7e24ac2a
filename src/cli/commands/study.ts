/**
 * `kielo study plan|run|status|report <file>`: a whole post-training study from one YAML file.
 * `study exec`, `study select` and `study pairs` are the study's own steps (run by executors).
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { execStep } from "../../study/exec.ts";
import { slurmStatus } from "../../study/external-ids.ts";
import { LocalExecutor, visibleGpus } from "../../study/executors/local.ts";
import { SlurmExecutor, slurmExecutorOptions } from "../../study/executors/slurm.ts";
import type { Executor } from "../../study/executor.ts";
import { loadStudy } from "../../study/load.ts";
import { buildPlan, type Plan } from "../../study/plan.ts";
import { buildPairs } from "../../study/pairs.ts";
import { writeReport } from "../../study/report/write.ts";
import { KIELO_ENTRY, planStatus, runStudy } from "../../study/run.ts";
import { parseCandidate, selectModel } from "../../study/select.ts";
import { estimateTraining } from "../../study/throughput.ts";
import { defaultStorePath } from "../../store/db.ts";
import { formatGrid, formatPlan } from "../../study/view.ts";
import { KieloError } from "../../util/errors.ts";
import { collect, numberArg } from "../options.ts";

interface CommonOptions {
  workDir?: string;
}

async function open(file: string, options: CommonOptions): Promise<Plan> {
  return buildPlan(await loadStudy(file), options.workDir);
}

function cpuSlots(plan: Plan, jobs?: number): number {
  return jobs ?? plan.study.resources.cpu_parallel ?? Math.max(1, Math.floor(availableParallelism() / 2));
}

export function registerStudy(program: Command): void {
  const study = program.command("study").description("a whole study (data mixes × SFT variants × DPO data × β, evaluated) from one YAML file: plan, run, status, report");
  const workDir = "--work-dir <dir>";
  const workDirHelp = "the study's work dir (default: the file's work_dir, else study-runs/<name>)";

  study
    .command("plan")
    .description("print the steps (DAG), which are done, the time left as measured in this study, and the training time from earlier runs' throughput in kielo.db")
    .argument("<file>", "study YAML (see studies/)")
    .option(workDir, workDirHelp)
    .action(async (file: string, options: CommonOptions) => {
      const plan = await open(file, options);
      const { hashes, status } = await planStatus(plan);
      const training = await estimateTraining(plan, status, defaultStorePath());
      process.stdout.write(formatPlan(plan, hashes, status, cpuSlots(plan) + (await visibleGpus()).length * plan.study.resources.per_gpu, training));
    });

  study
    .command("run")
    .description("run the steps that are not done (side by side: GPU steps on free GPUs, CPU steps up to --jobs); finished steps are skipped, a killed training resumes")
    .argument("<file>", "study YAML (see studies/)")
    .option(workDir, workDirHelp)
    .option("--only <glob>", "run only the steps whose id matches (repeatable), with their unfinished dependencies, e.g. --only 'train/sft-*'", collect, [])
    .option("--force <step>", "run this step (id or glob) again even if done (repeatable)", collect, [])
    .option("--jobs <n>", "CPU-only steps at once (default: resources.cpu_parallel, else half the cores)", numberArg("--jobs", { integer: true, min: 1 }))
    .addOption(new Option("--executor <kind>", "where steps run (default: the file's executor.kind, else local)").choices(["local", "slurm"]))
    .action(async (file: string, options: CommonOptions & { only: string[]; force: string[]; jobs?: number; executor?: "local" | "slurm" }) => {
      const plan = await open(file, options);
      // A GPU shared by n steps is offered n times (a step needing several GPUs should not share).
      const gpus = (await visibleGpus()).flatMap((gpu) => Array<string>(plan.study.resources.per_gpu).fill(gpu));
      const cpu = cpuSlots(plan, options.jobs);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const configured = plan.study.executor;
      const kind = options.executor ?? configured.kind;
      const executor: Executor =
        kind === "local" ? new LocalExecutor({ gpus, cpuParallel: cpu }) : new SlurmExecutor(configured.kind === "slurm" ? configured : slurmExecutorOptions());
      const summary = await runStudy(plan, { only: options.only, force: options.force, executor, slots: cpu + gpus.length, signal: controller.signal });
      const done = [...summary.results.values()].filter((r) => r.state === "done").length;
      process.stdout.write(`study ${plan.study.name}: ${done} steps run, ${summary.skipped.length} already done, ${summary.failed.length} failed or cancelled\n`);
      for (const f of summary.failed) process.stdout.write(`  ✗ ${f.id}: ${f.reason}\n    log: ${f.log}\n`);
      if (controller.signal.aborted) throw new KieloError("study stopped; run the same command again to continue", { exitCode: 130 });
      if (summary.failed.length > 0) throw new KieloError(`${summary.failed.length} step(s) did not finish`, { hint: "Read the logs above, fix the cause, and run the same command again: finished steps are skipped." });
      process.stdout.write(`report: kielo study report ${file}\n`);
    });

  study
    .command("status")
    .description("the grid: one row per model, a mark per stage (done, running, waiting, failed), and failed steps' logs")
    .argument("<file>", "study YAML (see studies/)")
    .option(workDir, workDirHelp)
    .action(async (file: string, options: CommonOptions) => {
      const plan = await open(file, options);
      const { status } = await planStatus(plan);
      // Steps submitted to Slurm: their jobs' states from squeue/sacct where the markers say not done.
      process.stdout.write(formatGrid(plan, await slurmStatus(plan, status)));
    });

  study
    .command("report")
    .description("write the study's tables (Markdown, CSV, one self-contained HTML page with charts) from kielo.db")
    .argument("<file>", "study YAML (see studies/)")
    .option(workDir, workDirHelp)
    .option("--out <dir>", "report folder (default: <work dir>/report)")
    .action(async (file: string, options: CommonOptions & { out?: string }) => {
      const plan = await open(file, options);
      const out = resolve(options.out ?? `${plan.workDir}/report`);
      const { hashes } = await planStatus(plan);
      const written = await writeReport(plan, hashes, out);
      process.stdout.write(`report written: ${written.join(", ")}\n`);
    });

  study
    .command("exec", { hidden: true })
    .description("run one study step (used by executors): clear a stale folder, run the kielo command, mark it done")
    .requiredOption("--dir <dir>", "the step folder")
    .requiredOption("--hash <hash>", "the step's content hash")
    .option("--label <label>", "the kielo.db label the command records")
    .option("--no-watch-parent", "keep running when the parent process dies (Slurm)")
    .argument("<args...>", "kielo arguments after --")
    .action(async (args: string[], options: { dir: string; hash: string; label?: string; watchParent: boolean }) => {
      process.exitCode = await execStep({ dir: options.dir, hash: options.hash, args, entry: KIELO_ENTRY, watchParent: options.watchParent, ...(options.label ? { label: options.label } : {}) });
    });

  study
    .command("select", { hidden: true })
    .description("choose the best model by a metric (a study step)")
    .requiredOption("--metric <name>", "ifeval-en, ifeval-target, share, heldout-loss, or named (one candidate)")
    .requiredOption("--candidate <id=model=stepdir>", "a candidate (repeatable)", collect, [])
    .requiredOption("--out <dir>", "the step folder: choice.json and a model link")
    .action(async (options: { metric: string; candidate: string[]; out: string }) => {
      await selectModel(options.metric, options.candidate.map(parseCandidate), options.out);
    });

  study
    .command("pairs", { hidden: true })
    .description("preference pairs: each record's reply chosen, the model's answer rejected (a study step)")
    .requiredOption("--records <file>", "conversation records")
    .requiredOption("--answers <file>", "kielo generate output for the same prompts")
    .requiredOption("--lang <code>", "language of the pairs")
    .requiredOption("--out <file>", "preference records")
    .action(async (options: { records: string; answers: string; lang: string; out: string }) => {
      await buildPairs(options.records, options.answers, options.lang, options.out);
    });
}
