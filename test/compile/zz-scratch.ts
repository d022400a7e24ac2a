import { Template } from "@huggingface/jinja";
import { readFileSync } from "node:fs";
import { Tokenizer } from "tokenizers";
import { gunzipSync } from "node:zlib";
const cfg = JSON.parse(readFileSync("fixtures/tokenizers/qwen3/tokenizer_config.json", "utf8"));
const t = new Template(cfg.chat_template);
const rows = readFileSync("/work/shared/data/dolly-15k-fi/dolly_en_fi_aligned_first2198.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l));
const convs = rows.map((r) => [{ role: "user", content: r.instruction + (r.context ? "\n\n" + r.context : "") }, { role: "assistant", content: r.response }]);
let t0 = performance.now(); let chars = 0;
const texts: string[] = [];
for (const c of convs) { const s = t.render({ messages: c, add_generation_prompt: false, eos_token: "<|im_end|>", pad_token: "<|endoftext|>" }); chars += s.length; texts.push(s); }
let dt = performance.now() - t0;
console.log("renders/s", convs.length / dt * 1000, "chars", chars);
const tok = Tokenizer.fromString(gunzipSync(readFileSync("fixtures/tokenizers/qwen3/tokenizer.json.gz")).toString("utf8"));
for (let rep = 0; rep < 3; rep++) {
t0 = performance.now(); let n = 0;
for (let i = 0; i < texts.length; i += 256) { const encs = await tok.encodeBatch(texts.slice(i, i + 256), { addSpecialTokens: false }); for (const e of encs) n += e.getIds().length; }
dt = performance.now() - t0; console.log("encodeBatch tokens/s", n / dt * 1000, n);
t0 = performance.now(); n = 0;
for (let i = 0; i < texts.length; i += 1) { const e = await tok.encode(texts[i]!, null, { addSpecialTokens: false }); n += e.getLength(); }
dt = performance.now() - t0; console.log("encode tokens/s", n / dt * 1000, n);
}
