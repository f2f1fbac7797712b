import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// Full-text search (issue 12, docs/SEARCH.md "Server"). A message's current text
// is the body of its row while it is not edited, else the body of its latest
// edit's row (the message row's edited_seq); a delete scrubs both to NULL. So
// each row that holds text (message.created, message.edited) carries the
// tsvector of its own body, as a STORED generated column: the append functions
// are untouched, the hot path pays only the expression and the GIN entry, an
// edit or a delete recomputes it with the UPDATE the append already makes. The
// search picks, per message, the row holding its current text (server/search/).
//
// Text search configuration `ferry_search`: `simple` (no stemming, no stop
// words: messages are multilingual) with `unaccent` before it for words, so
// "Crème" is stored as 'creme' (shared/search/text.ts fold()). ASCII
// punctuation is made a space first, so "depot-gate", "bob@example.com" or
// "3.14" are words as fold()/words() split them, not PostgreSQL's hyphenated
// words, e-mails or numbers. Without the unaccent extension (not installable
// here), `ferry_search` is a plain copy of `simple`: accents then must match.
//
// The extension is created in schema public when it exists (else the current
// schema), never in a throwaway schema: dropping that schema would drop the
// dictionary under every other schema's configuration.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    DO $do$
    DECLARE
      v_schema text;
    BEGIN
      SELECT n.nspname INTO v_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'unaccent';
      IF v_schema IS NULL THEN
        v_schema := CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN 'public'
          ELSE current_schema() END;
        BEGIN
          EXECUTE format('CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA %I', v_schema);
        EXCEPTION WHEN others THEN
          -- Not installable (no contrib files, no privilege, a concurrent create): plain simple.
          SELECT n.nspname INTO v_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'unaccent';
        END;
      END IF;
      CREATE TEXT SEARCH CONFIGURATION ferry_search (COPY = pg_catalog.simple);
      IF v_schema IS NOT NULL THEN
        EXECUTE format(
          'ALTER TEXT SEARCH CONFIGURATION ferry_search ALTER MAPPING FOR word, numword, hword, hword_part, '
          'numhword, hword_numpart WITH %I.unaccent, pg_catalog.simple', v_schema);
      END IF;
    END
    $do$`.execute(db)
  await sql`
    ALTER TABLE room_events ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
      CASE WHEN kind IN ('message.created', 'message.edited') AND body IS NOT NULL
        THEN to_tsvector('ferry_search', regexp_replace(body, '[[:punct:]]+', ' ', 'g')) END
    ) STORED`.execute(db)
  await sql`CREATE INDEX room_events_search_idx ON room_events USING gin (search_tsv)
    WHERE search_tsv IS NOT NULL`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX room_events_search_idx`.execute(db)
  await sql`ALTER TABLE room_events DROP COLUMN search_tsv`.execute(db)
  await sql`DROP TEXT SEARCH CONFIGURATION ferry_search`.execute(db)
}
