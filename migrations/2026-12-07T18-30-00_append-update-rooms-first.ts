import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// Issue 14: ferry_append_batch (2026-12-07T10-00-00_append-one-insert.ts) with
// a cheaper room lock for small batches. Before, every batch locked its rooms
// `SELECT … FOR UPDATE` (a lock record written per room) and moved each
// room's last_seq by one UPDATE at the end (a new row version). Now a batch of
// at most 4 writes, or of one room, updates its rooms first, one UPDATE per
// room in id order (the same lock order as FOR UPDATE, so batches still never
// deadlock), moving last_seq by the number of its writes to that room as if
// all were stored: the UPDATE takes the row lock, and no separate lock record
// is written. Only when a write was not stored (a duplicate or a refusal,
// rare) a second UPDATE sets last_seq back to the last seq really stored, so
// the room's seq stays gap-free (the row stays locked until commit; nobody
// sees the value in between). A larger batch of several rooms keeps the old
// FOR UPDATE and one set UPDATE, which one statement per room would make
// dearer. Measured with `npm run bench -- pg-append` (docs/BENCHMARKS.md,
// 2026-12-07 "Where the rest of the gap goes").
//
// Same signature, same rows, same outcomes in the same order.
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
      v_ids uuid[];
      v_counts bigint[];
      v_rooms uuid[] := '{}';
      v_last bigint[] := '{}';
      v_planned bigint[] := '{}';
      v_next bigint[];
      v_seq bigint;
      v_at int;
      v_event room_events%ROWTYPE;
      v_stored boolean;
      v_short boolean := false;
    BEGIN
      IF array_length(p_room, 1) <= 4 OR p_room[1] = ALL(p_room) THEN
        SELECT array_agg(k.r ORDER BY k.r), array_agg(k.n ORDER BY k.r) INTO v_ids, v_counts
          FROM (SELECT r, count(*) AS n FROM unnest(p_room) AS r GROUP BY r) AS k;
        FOR j IN 1 .. coalesce(array_length(v_ids, 1), 0) LOOP
          UPDATE rooms SET last_seq = last_seq + v_counts[j] WHERE id = v_ids[j] RETURNING last_seq INTO v_seq;
          IF FOUND THEN
            v_rooms := v_rooms || v_ids[j];
            v_last := v_last || (v_seq - v_counts[j]);
            v_planned := v_planned || v_seq;
          END IF;
        END LOOP;
      ELSE
        SELECT array_agg(r.id ORDER BY r.id), array_agg(r.last_seq ORDER BY r.id)
          INTO v_rooms, v_last
          FROM (SELECT id, last_seq FROM rooms WHERE id = ANY(p_room) ORDER BY id FOR UPDATE) AS r;
        v_planned := v_last;
        v_short := true;
      END IF;
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
          v_short := v_short OR v_at IS NOT NULL;
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
      IF v_short THEN
        UPDATE rooms SET last_seq = k.last_seq
          FROM unnest(v_rooms, v_next, v_planned) AS k(id, last_seq, planned)
          WHERE rooms.id = k.id AND k.last_seq <> k.planned;
      END IF;
    END
    $fn$`.execute(db)
}

// The previous body answers exactly as this one (same signature, rows and
// outcomes), so going back one migration keeps this body: nothing to undo.
export async function down(): Promise<void> {}
