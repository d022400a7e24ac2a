import { loadPrompt } from "./src/translate/prompt.ts";
const p = loadPrompt("en","fi");
console.log(p.version, JSON.stringify(p.completion("Hello ⟦1⟧.")));
console.log(p.chat("Hello").length, p.scaffolding);
