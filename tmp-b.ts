import { buildBenchSet } from "./scripts/clean-quality.ts";
const [seed, ...ids] = process.argv.slice(2);
const { items } = buildBenchSet(Number(seed));
for (const it of items) if (ids.includes(it.target.id)) { console.log(it.label, JSON.stringify(it.target.messages.map(m=>m.content)).slice(0,1500)); console.log("SRC", JSON.stringify((it.target.meta.translation as any).source.messages.map((m:any)=>m.content)).slice(0,800)); }
