import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// ferry_append_batch with one statement per write in the common case, where
// the previous version (2026-12-03T08-30-00_append-function.ts) ran three: a
// dedupe lookup, a membership EXISTS, then the INSERT. Now the INSERT itself
// checks membership (EXISTS in its WHERE) and dedupe (ON CONFLICT on the
// (room, author, clientId) unique key, so always that index, whatever the
// planner thinks of the table's size); the refusal probes run only for a write
// it did not store, in the promised order:
//   duplicate    a message with this (room, author, clientId) is stored (before,
//                or earlier in this batch): its original event;
//   not_found    no such room;
//   not_member   the author is not a member;
//   out_of_order afterClientId names a message of this author and room that is
//                not stored (before, or earlier in this batch).
// Same signature, same rows, same room locks (FOR UPDATE in id order) and
// last_seq moves as before. Membership is the one fact no room lock guards:
// a write the INSERT refused that the probes then find a member (a join
// committed in between) is answered not_member, what the INSERT saw.
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

// The previous body answers exactly as this one (same signature, same rows, same
// outcomes), so going back one migration keeps this body: nothing to undo.
export async function down(): Promise<void> {}
