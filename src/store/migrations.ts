/**
 * Schema migrations of `kielo.db`, applied in order. Never edit a shipped migration: append a new one.
 *
 * Tables:
 * - `runs`: one row per kielo action worth remembering (compile, train, eval, translate, …).
 * - `metrics`: numeric series of a run (training loss per step, eval accuracies, …).
 * - `generations`: model outputs (for evaluation and review), keyed by run and prompt key.
 * - `translations`: the translation cache, one row per finished segment.
 * - `eval_results`: per-item evaluation verdicts (e.g. IFEval per prompt), as JSON.
 * - `answer_metrics`: text metrics and model-based scores of one answer (`kielo eval text`).
 * - `scorer_cache`: model-based scores already computed (LLM judge), by scorer and input hash.
 * - `qa_chunks`: question/answer pairs written for one document chunk (`kielo data qa-from-docs`).
 *
 * Migration 3 gives `runs` the process that records it (`pid`, `host`) and its `heartbeat_at`, so
 * a run whose process is gone reads as `died` (src/runs/status.ts), and the training's job folder
 * (`job_dir`), so a resumed training continues its own row.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,            -- compile | sft | dpo | eval-ifeval | translate | clean | generate | mix
    label       TEXT,                     -- user-chosen run/model label
    status      TEXT NOT NULL DEFAULT 'running',  -- running | done | failed | interrupted
    config_json TEXT NOT NULL DEFAULT '{}',
    summary_json TEXT,
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    ended_at    TEXT
  );
  CREATE INDEX runs_kind_label ON runs(kind, label);

  CREATE TABLE metrics (
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    step    INTEGER,
    value   REAL NOT NULL,
    at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  );
  CREATE INDEX metrics_run_name ON metrics(run_id, name, step);

  CREATE TABLE generations (
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    prompt_key TEXT NOT NULL,
    prompt     TEXT NOT NULL,
    response   TEXT NOT NULL,
    meta_json  TEXT,
    PRIMARY KEY (run_id, prompt_key)
  );

  CREATE TABLE translations (
    source_hash   TEXT NOT NULL,          -- sha256 of the source segment
    model         TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    decoding_hash TEXT NOT NULL,          -- hash of the decoding settings
    source_text   TEXT NOT NULL,
    target_text   TEXT NOT NULL,
    finish_reason TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (source_hash, model, prompt_version, decoding_hash)
  );

  CREATE TABLE eval_results (
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    item_key  TEXT NOT NULL,
    result_json TEXT NOT NULL,
    PRIMARY KEY (run_id, item_key)
  );
  `,
  `
  CREATE TABLE answer_metrics (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    answer_key    TEXT NOT NULL,
    model         TEXT,                   -- label of the model that wrote the answer
    source_run_id INTEGER,                -- the generate run the answers came from, when known
    prompt        TEXT NOT NULL,
    answer        TEXT NOT NULL,
    readability_lang TEXT NOT NULL,       -- textstat's language setting
    answer_lang   TEXT,                   -- langdetect's verdict
    metrics_json  TEXT NOT NULL,          -- {field: number | null}: textstat block + answer metrics
    scores_json   TEXT NOT NULL DEFAULT '{}',  -- {scorer: {label, score}}
    versions_json TEXT NOT NULL,          -- textstat, langdetect and each scorer's version
    PRIMARY KEY (run_id, answer_key)
  );

  CREATE TABLE scorer_cache (
    scorer_hash TEXT NOT NULL,            -- hash of the scorer's settings (model, rubric, decoding)
    input_hash  TEXT NOT NULL,            -- sha256 of the scored input
    result_json TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (scorer_hash, input_hash)
  );

  CREATE TABLE qa_chunks (
    settings_hash TEXT NOT NULL,          -- hash of model, prompt version, pairs per chunk, language
    chunk_hash    TEXT NOT NULL,          -- sha256 of the chunk text
    pairs_json    TEXT NOT NULL,          -- [{question, answer}]
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (settings_hash, chunk_hash)
  );
  `,
  `
  ALTER TABLE runs ADD COLUMN pid INTEGER;          -- the kielo process that records the run
  ALTER TABLE runs ADD COLUMN host TEXT;            -- its host name (a pid means nothing elsewhere)
  ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;    -- refreshed while the process is alive
  ALTER TABLE runs ADD COLUMN job_dir TEXT;         -- a training's job folder: its resume continues the row
  CREATE INDEX runs_job_dir ON runs(job_dir);
  `,
];
