/// The results database schema: every statement nightcap applies to a results file, one migration
/// per schema version.
///
/// `schemas/results.sql` is the concatenation of `migrations`' SQL (a test keeps them equal), so
/// `sqlite3 new.sqlite < schemas/results.sql` makes the same database that nightcap makes.
public enum ResultSchema {
    /// One step of the schema: the SQL that takes a database from `version - 1` to `version`.
    public struct Migration: Sendable {
        /// The schema version after this migration; also the value of `PRAGMA user_version`.
        public let version: Int
        /// The SQL script; it ends by setting `PRAGMA user_version` to `version`.
        public let sql: String
    }

    /// `PRAGMA application_id` of a nightcap results file: the ASCII bytes "NCAP".
    public static let applicationID: Int32 = 0x4E43_4150

    /// The newest schema version this build knows.
    public static var currentVersion: Int { migrations.last!.version }

    /// Every migration, oldest first.
    public static let migrations: [Migration] = [
        Migration(version: 1, sql: version1),
        Migration(version: 2, sql: version2),
        Migration(version: 3, sql: version3),
        Migration(version: 4, sql: version4),
    ]

    /// The text of `schemas/results.sql`.
    public static var fullSQL: String { migrations.map(\.sql).joined(separator: "\n") }

    private static let version1 = """
        -- nightcap results database: schema version 1.
        --
        -- Conventions
        --   * Timestamps are ISO-8601 UTC text with milliseconds, e.g. '2026-11-24T22:39:40.123Z'
        --     (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')); they sort and compare as text.
        --   * Image ids are text, exactly as in the features file.
        --   * Positions, regions and image indices are 0-based.
        --   * attention.weights is a BLOB of little-endian float32 values, one per valid region of the
        --     image, in region order: lossless copies of the model's softmax output.
        --   * Every table refers to runs(run_id) with ON DELETE CASCADE, so deleting a run deletes all
        --     of its rows (with PRAGMA foreign_keys = ON, which nightcap sets).

        PRAGMA application_id = 1313030480; -- 'NCAP'

        -- One row per nightcap run (an evaluation of one model on one features file).
        CREATE TABLE runs (
            run_id             INTEGER PRIMARY KEY,
            name               TEXT    NOT NULL,
            status             TEXT    NOT NULL DEFAULT 'running'
                               CHECK (status IN ('running', 'interrupted', 'failed', 'completed')),
            status_message     TEXT,             -- why a run failed or was interrupted
            fingerprint        TEXT    NOT NULL, -- hash of everything that determines the results
            config             TEXT    NOT NULL CHECK (json_valid(config)), -- resolved configuration, JSON
            features_path      TEXT,
            model_path         TEXT,
            references_path    TEXT,
            image_count        INTEGER NOT NULL CHECK (image_count >= 0),
            shard_size         INTEGER NOT NULL CHECK (shard_size > 0),
            shard_count        INTEGER NOT NULL CHECK (shard_count >= 0),
            nightcap_version   TEXT,
            owner_pid          INTEGER,          -- process that runs it now (NULL when nobody does)
            owner_host         TEXT,
            heartbeat_at       TEXT,             -- last sign of life of the owner
            created_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            finished_at        TEXT,             -- when it completed, failed or was interrupted
            finalize_seconds   REAL              -- time spent computing corpus metrics
        );
        CREATE INDEX runs_by_fingerprint ON runs (fingerprint, run_id);
        CREATE INDEX runs_by_name ON runs (name, run_id);

        -- A shard is a contiguous range of images decoded together. Its row exists only once all of
        -- its rows (captions, attention, metrics, failures) committed, in the same transaction: a
        -- shard without a row here has no rows anywhere.
        CREATE TABLE shards (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            shard              INTEGER NOT NULL CHECK (shard >= 0),
            first_image        INTEGER NOT NULL CHECK (first_image >= 0), -- image_index of its first image
            num_images         INTEGER NOT NULL CHECK (num_images >= 0),
            status             TEXT    NOT NULL DEFAULT 'done' CHECK (status = 'done'),
            seconds            REAL    NOT NULL, -- wall-clock time to read and decode it
            finished_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (run_id, shard)
        ) WITHOUT ROWID;

        -- One caption per successfully decoded image.
        CREATE TABLE captions (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            image_id           TEXT    NOT NULL,
            image_index        INTEGER NOT NULL CHECK (image_index >= 0), -- position in the features file
            shard              INTEGER NOT NULL,
            caption            TEXT    NOT NULL, -- words joined by single spaces, no <start>/<end>
            num_words          INTEGER NOT NULL,
            log_prob           REAL    NOT NULL, -- summed log-probability of the chosen sequence
            PRIMARY KEY (run_id, image_id)
        ) WITHOUT ROWID;
        CREATE INDEX captions_by_index ON captions (run_id, image_index);

        -- What each word of a caption looked at: one row per word, position 0 is the first word.
        CREATE TABLE attention (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            image_id           TEXT    NOT NULL,
            position           INTEGER NOT NULL CHECK (position >= 0),
            word               TEXT    NOT NULL,
            weights            BLOB    NOT NULL, -- little-endian float32 per valid region
            top_region         INTEGER,          -- region with the largest weight (first of ties)
            top_weight         REAL,
            PRIMARY KEY (run_id, image_id, position)
        ) WITHOUT ROWID;

        -- The image's regions, when the features file has boxes or labels.
        CREATE TABLE regions (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            image_id           TEXT    NOT NULL,
            region             INTEGER NOT NULL CHECK (region >= 0), -- as attention.top_region
            x1                 REAL,
            y1                 REAL,
            x2                 REAL,
            y2                 REAL,
            label              TEXT,
            PRIMARY KEY (run_id, image_id, region)
        ) WITHOUT ROWID;

        -- Per-image scores, named as pycocoevalcap names them: Bleu_1 .. Bleu_4, ROUGE_L, CIDEr.
        -- BLEU and ROUGE_L rows commit with their shard; CIDEr rows (which depend on the whole
        -- corpus) are written when the run is finalized.
        CREATE TABLE image_metrics (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            image_id           TEXT    NOT NULL,
            metric             TEXT    NOT NULL,
            value              REAL    NOT NULL,
            PRIMARY KEY (run_id, image_id, metric)
        ) WITHOUT ROWID;
        CREATE INDEX image_metrics_by_value ON image_metrics (run_id, metric, value);

        -- Corpus scores of a finalized run, with pycocoevalcap's names.
        CREATE TABLE run_metrics (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            metric             TEXT    NOT NULL,
            value              REAL    NOT NULL,
            PRIMARY KEY (run_id, metric)
        ) WITHOUT ROWID;

        -- Per-image BLEU statistics (pycocoevalcap's 'closest' reference length): summing them over
        -- images gives corpus BLEU, see docs/database.md.
        CREATE TABLE bleu_stats (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            image_id           TEXT    NOT NULL,
            testlen            INTEGER NOT NULL,
            reflen             INTEGER NOT NULL,
            guess_1            INTEGER NOT NULL,
            guess_2            INTEGER NOT NULL,
            guess_3            INTEGER NOT NULL,
            guess_4            INTEGER NOT NULL,
            correct_1          INTEGER NOT NULL,
            correct_2          INTEGER NOT NULL,
            correct_3          INTEGER NOT NULL,
            correct_4          INTEGER NOT NULL,
            PRIMARY KEY (run_id, image_id)
        ) WITHOUT ROWID;

        -- Images that could not be captioned, and why.
        CREATE TABLE failed_images (
            run_id             INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
            image_id           TEXT    NOT NULL,
            shard              INTEGER NOT NULL,
            reason             TEXT    NOT NULL,
            PRIMARY KEY (run_id, image_id)
        ) WITHOUT ROWID;

        -- One line per run: progress and headline scores.
        CREATE VIEW run_summary AS
        SELECT r.run_id, r.name, r.status, r.created_at, r.finished_at, r.image_count,
               (SELECT count(*) FROM shards s WHERE s.run_id = r.run_id) AS shards_done,
               r.shard_count,
               (SELECT coalesce(sum(s.num_images), 0) FROM shards s WHERE s.run_id = r.run_id) AS images_done,
               (SELECT count(*) FROM failed_images f WHERE f.run_id = r.run_id) AS images_failed,
               (SELECT value FROM run_metrics m WHERE m.run_id = r.run_id AND m.metric = 'Bleu_4') AS bleu_4,
               (SELECT value FROM run_metrics m WHERE m.run_id = r.run_id AND m.metric = 'CIDEr') AS cider
        FROM runs r;

        PRAGMA user_version = 1;

        """

    /// Version 2, one migration for two features of the same release: partitioned runs and
    /// Slurm-aware ownership (`nightcap run --part I/N`, `nightcap merge`), and runs without
    /// references (`nightcap score RUN`): which references a run's metrics were computed against,
    /// so that scoring it again with others is refused unless asked.
    private static let version2 = """
        -- nightcap results database: schema version 2 (partitioned runs, docs/scale-out.md; runs
        -- captioned without references, scored later by `nightcap score RUN`).

        -- A run that does one part of a partitioned run (`nightcap run --part I/N`): the contiguous
        -- block of shards [first_shard, end_shard) of the whole run, whose fingerprint it shares.
        -- `nightcap merge` joins the N parts' files into one run that has no row here.
        CREATE TABLE run_parts (
            run_id             INTEGER PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
            part_index         INTEGER NOT NULL CHECK (part_index >= 0),
            part_count         INTEGER NOT NULL CHECK (part_count > part_index),
            first_shard        INTEGER NOT NULL CHECK (first_shard >= 0),
            end_shard          INTEGER NOT NULL CHECK (end_shard >= first_shard)
        );

        -- The Slurm task that owns a running run (beside runs.owner_pid and owner_host), so that the
        -- same array task requeued onto another node takes its run over instead of being refused.
        CREATE TABLE run_slurm_owners (
            run_id             INTEGER PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
            job_id             TEXT    NOT NULL, -- '<array job>_<task>' for array tasks, else the job id
            restart_count      INTEGER NOT NULL DEFAULT 0 CHECK (restart_count >= 0) -- SLURM_RESTART_COUNT
        );

        -- SHA-256 of the references a run's metrics were computed against (the file's bytes, its
        -- format and split), set when the run starts with references or when `nightcap score RUN`
        -- scores it later. NULL with references_path NULL: the run is not scored.
        ALTER TABLE runs ADD COLUMN references_digest TEXT;

        PRAGMA user_version = 2;

        """

    /// Version 3: where and on which kernels each shard was decoded, so that two runs whose last
    /// float bits differ can be told apart by what computed them (docs/decoder.md).
    private static let version3 = """
        -- nightcap results database: schema version 3 (what computed each shard).

        -- The host that decoded a shard, and the kernels its products and vector loops ran on. The
        -- last float bits of attention and log-probabilities depend on the BLAS kernels, as on the
        -- machine (docs/decoder.md): two runs with the same fingerprint can differ there, and
        -- these columns say whether they ran on the same ones. NULL for shards committed before
        -- version 3.
        ALTER TABLE shards ADD COLUMN host TEXT;
        ALTER TABLE shards ADD COLUMN kernels TEXT; -- e.g. 'OpenBLAS 0.3.21 SkylakeX (library chose Prescott), vector loops avx2'

        PRAGMA user_version = 3;

        """

    /// Version 4: where each run's checkpoint came from, and the series a run belongs to
    /// (`nightcap history`, `compare --against`, `report --history`; docs/nightly.md).
    private static let version4 = """
        -- nightcap results database: schema version 4 (the nightly series, docs/nightly.md).

        -- The series a run belongs to: by default its pipeline's name and decode settings, e.g.
        -- 'demo/beam_size=3/max_length=20/length_penalty=0.0'; `nightcap run --series NAME` sets it.
        -- NULL for runs started before version 4 (`nightcap history` groups those by their name).
        ALTER TABLE runs ADD COLUMN series TEXT;
        CREATE INDEX runs_by_series ON runs (series, run_id);

        -- The checkpoint a run evaluated, as it was when the run started: its file and how far
        -- training had gone, where the file or its infos record it (self-critical.pytorch infos:
        -- iter, epoch, best_val_score; Lightning: global_step, epoch; Meshed-Memory Transformer:
        -- epoch, val_cider; nightcap model files: the root attributes iter, epoch, best_val_score).
        -- Runs started before version 4 have no row.
        CREATE TABLE run_checkpoints (
            run_id             INTEGER PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
            path               TEXT    NOT NULL, -- absolute path of the model file
            size_bytes         INTEGER CHECK (size_bytes >= 0),
            modified_at        TEXT,             -- the file's modification time, ISO-8601 UTC
            training_step      INTEGER,          -- iter or global_step
            epoch              INTEGER,
            best_val_score     REAL              -- best_val_score or val_cider
        );

        PRAGMA user_version = 4;

        """
}
