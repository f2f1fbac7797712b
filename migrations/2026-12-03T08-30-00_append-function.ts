import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// The append path's whole batch in one statement (server/messages/append-batch.ts):
// one round trip to the database instead of seven (BEGIN, lock, dedupe lookup,
// membership, seq bump, INSERT, COMMIT), run as its own transaction, with the
// plans of its statements kept by PL/pgSQL instead of made again per batch.
// Writes are decided in queue order (idx 0…n-1):
//   duplicate    a message with this (room, author, clientId) is stored (before,
//                or earlier in this batch): its original event;
//   not_found    no such room;
//   not_member   the author is not a member;
//   out_of_order afterClientId names a message of this author and room that is
//                not stored (before, or earlier in this batch);
//   created      stored at the room's next seq.
// The rooms are locked in id order first (batches never deadlock), and their
// last_seq moves once, at the end.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION ferry_append_batch(
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
    BEGIN
      SELECT array_agg(r.id ORDER BY r.id), array_agg(r.last_seq ORDER BY r.id)
        INTO v_rooms, v_last
        FROM (SELECT id, last_seq FROM rooms WHERE id = ANY(p_room) ORDER BY id FOR UPDATE) AS r;
      v_next := v_last;
      FOR i IN 1 .. coalesce(array_length(p_room, 1), 0) LOOP
        idx := i - 1;
        SELECT * INTO v_event FROM room_events e
          WHERE e.room_id = p_room[i] AND e.author_id = p_author[i] AND e.client_id = p_client[i];
        IF FOUND THEN
          outcome := 'duplicate';
        ELSE
          v_event := NULL;
          v_at := array_position(v_rooms, p_room[i]);
          IF v_at IS NULL THEN
            outcome := 'not_found';
          ELSIF NOT EXISTS (
            SELECT 1 FROM room_members m WHERE m.room_id = p_room[i] AND m.user_id = p_author[i]
          ) THEN
            outcome := 'not_member';
          ELSIF p_after[i] IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM room_events e
            WHERE e.room_id = p_room[i] AND e.author_id = p_author[i] AND e.client_id = p_after[i]
          ) THEN
            outcome := 'out_of_order';
          ELSE
            v_next[v_at] := v_next[v_at] + 1;
            INSERT INTO room_events (room_id, seq, kind, author_id, client_id, body)
              VALUES (p_room[i], v_next[v_at], 'message.created', p_author[i], p_client[i], p_body[i])
              RETURNING * INTO v_event;
            outcome := 'created';
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

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION ferry_append_batch(uuid[], uuid[], uuid[], text[], uuid[])`.execute(db)
}
