/**
 * kielo's canonical records. Every format adapter produces these, and everything downstream
 * (templates, the compiler, translation, cleaning, mixes) consumes only these.
 *
 * On disk they are JSONL, one record per line, exactly these fields. The `kind` field tells the
 * two apart, so a file can be read without knowing in advance what it holds.
 */
import { z } from "zod";

export const ROLES = ["system", "user", "assistant"] as const;
export type Role = (typeof ROLES)[number];

export const MessageSchema = z.object({
  role: z.enum(ROLES),
  content: z.string(),
});
export type Message = z.infer<typeof MessageSchema>;

/**
 * Free-form provenance: source file, source row, original ids, scores, category …
 * `data convert` always sets `source: {file, row}` (the input's file name and 1-based row). Other
 * keys by adapter: oasst `tree_id` + `message_ids` (the path, for aligning translations); qa-context
 * `template: "qa-context"` (the chat template to render it with); pairs/helpsteer the ratings.
 */
export const MetaSchema = z.record(z.string(), z.unknown());

/** A conversation for supervised fine-tuning. */
export const ConversationSchema = z.object({
  kind: z.literal("conversation"),
  /** Stable id, unique within a dataset (e.g. the OASST tree id, `dolly-123`). */
  id: z.string().min(1),
  /** BCP-47-ish language code of the text (`en`, `fi`, `hi` …), if known. */
  lang: z.string().optional(),
  messages: z.array(MessageSchema).min(1),
  meta: MetaSchema.default({}),
});
export type Conversation = z.infer<typeof ConversationSchema>;

/** A preference pair: one prompt (a conversation ending in a user turn), two assistant replies. */
export const PreferencePairSchema = z.object({
  kind: z.literal("preference"),
  id: z.string().min(1),
  lang: z.string().optional(),
  /** The conversation so far; its last message is a user turn. */
  prompt: z.array(MessageSchema).min(1),
  /** The preferred assistant reply. */
  chosen: z.string(),
  /** The dispreferred assistant reply. */
  rejected: z.string(),
  meta: MetaSchema.default({}),
});
export type PreferencePair = z.infer<typeof PreferencePairSchema>;

export const RecordSchema = z.discriminatedUnion("kind", [ConversationSchema, PreferencePairSchema]);
export type KieloRecord = Conversation | PreferencePair;
