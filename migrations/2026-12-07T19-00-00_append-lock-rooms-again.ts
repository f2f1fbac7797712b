import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// Issue 14: ferry_append_batch back to the body of
// 2026-12-07T10-00-00_append-one-insert.ts (every batch locks its rooms
// `SELECT … FOR UPDATE` in id order and moves last_seq by one UPDATE at the
// end), undoing 2026-12-07T18-30-00_append-update-rooms-first.ts. That one
// updated the rooms of a batch of at most 4 writes, or of one room, first; its
// gain (−10 to −23 % database CPU per write at batch 1–3) was measured against
// the real function, whose plans had been cached while the bench seeded an
// unanalysed table, and a fresh copy of each (run after ANALYZE) showed none
// (docs/BENCHMARKS.md, 2026-12-07 "Where the rest of the gap goes"). No shown
// gain, more code: the simpler body comes back. Same signature, rows and
// outcomes.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION ferry_append_batch(
      p_room uuid[], p_author uuid[], p_client uuid[], p_body text[], p_after uuid[]
    ) RETURNS TABLE (
      idx int, outcome text, seq bigint, kind text, client_id uuid, body text,
      target_seq bigint, reaction text, created_at timestamptz
    ) LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      v_rooms uuid[];
      v_last bigint[];
      v_next bigint[];
      v_at int;
      v_event room_events%ROWTYPE;
      v_stored boolean;
    BEGIN
      SELECT array_agg(r.id ORDER BY r.id), array_agg(r.last_seq ORDER BY r.id)
        INTO v_rooms, v_last
        FROM (SELECT id, last_seq FROM rooms WHERE id = ANY(p_room) ORDER BY id FOR UPDATE) AS r;
      v_next := v_last;
      FOR i IN 1 .. coalesce(array_length(p_room, 1), 0) LOOP
        idx := i - 1;
        v_at := array_position(v_rooms, p_room[i]);
        v_stored := false;
        IF v_at IS NOT NULL AND (p_after[i] IS NULL OR EXISTS (
          SELECT 1 FROM room_events e
          WHERE e.room_id = p_room[i] AND e.author_id = p_author[i] AND e.client_id = p_after[i]
        )) THEN
          INSERT INTO room_events (room_id, seq, kind, author_id, client_id, body)
            SELECT p_room[i], v_next[v_at] + 1, 'message.created', p_author[i], p_client[i], p_body[i]
            WHERE EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = p_room[i] AND m.user_id = p_author[i])
            ON CONFLICT (room_id, author_id, client_id) DO NOTHING
            RETURNING * INTO v_event;
          v_stored := FOUND;
        END IF;
        IF v_stored THEN
          v_next[v_at] := v_event.seq;
          outcome := 'created';
        ELSE
          SELECT * INTO v_event FROM room_events e
            WHERE e.room_id = p_room[i] AND e.author_id = p_author[i] AND e.client_id = p_client[i];
          IF FOUND THEN
            outcome := 'duplicate';
          ELSE
            v_event := NULL;
            IF v_at IS NULL THEN
              outcome := 'not_found';
            ELSIF p_after[i] IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM room_events e
              WHERE e.room_id = p_room[i] AND e.author_id = p_author[i] AND e.client_id = p_after[i]
            ) AND EXISTS (
              SELECT 1 FROM room_members m WHERE m.room_id = p_room[i] AND m.user_id = p_author[i]
            ) THEN
              outcome := 'out_of_order';
            ELSE
              outcome := 'not_member';
            END IF;
          END IF;
        END IF;
        seq := v_event.seq;
        kind := v_event.kind;
        client_id := v_event.client_id;
        body := v_event.body;
        target_seq := v_event.target_seq;
        reaction := v_event.reaction;
        created_at := v_event.created_at;
        RETURN NEXT;
      END LOOP;
      UPDATE rooms SET last_seq = k.last_seq
        FROM unnest(v_rooms, v_next, v_last) AS k(id, last_seq, before)
        WHERE rooms.id = k.id AND k.last_seq <> k.before;
    END
    $fn$`.execute(db)
}

// Going back one migration would restore a body that answers exactly as this
// one: nothing to undo.
export async function down(): Promise<void> {}
