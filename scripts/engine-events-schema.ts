/**
 * Writes engine/kielo_engine/events.schema.json from the one definition of the engine's events
 * (src/engine/events.ts). Run it after changing the events; test/engine/events.test.ts fails while
 * the file is out of date, and the engine's tests validate what the engine emits against it.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { eventsJsonSchema } from "../src/engine/events.ts";

const path = fileURLToPath(new URL("../engine/kielo_engine/events.schema.json", import.meta.url));
writeFileSync(path, `${JSON.stringify(eventsJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path}`);
