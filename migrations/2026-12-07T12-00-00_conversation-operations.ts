import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the app.
//
// Issue 9, conversation operations (docs/PROTOCOL.md, "Conversation events"):
// edits, deletions and reactions are room-log entries written through the same
// batched append as messages, and messages gain replies and mentions.
//
// Columns: room_events.reply_to (a message.created's reply target, a seq of
// the same room) and room_events.mentions (members the server resolved from
// `@username` in the body, of a message or an edit). The denormalised state
// for reads, kept in the same transaction as the entry: on a message's row
// edited_seq/edited_at (its latest edit) and deleted_seq/deleted_at/deleted_by;
// message_reactions holds who holds which emoji, since the add at `seq`
// (the primary key makes "one of each emoji per person" a constraint).
//
// ferry_append_ops is ferry_append_batch (2026-12-07T10-00-00_append-one-insert.ts)
// extended with one more array per field an operation needs. The server calls
// it for a batch holding any write that is not a plain send (an operation, a
// reply, a body with @names); a batch of plain sends still calls
// ferry_append_batch, unchanged, so the hot path costs what it did. Inside,
// a plain send (p_kind NULL) takes exactly ferry_append_batch's one-INSERT
// path. Any other write: dedupe (its original entry), then not_found, not_member,
// out_of_order as for sends, then its target (PROTOCOL.md validation step 3):
//   target_not_found  no message.created of this room at p_target_seq, or of
//                     this author with client id p_target_client;
//   target_deleted    edit, delete or reaction of a deleted message (a reply
//                     to one is stored);
//   forbidden         an edit by anyone but the author; a delete by anyone but
//                     the author or a member with role owner or admin.
// Then it is stored at the room's next seq with its effects: an edit marks
// the message edited; a delete scrubs the text (and mentions) of the message
// and of its edits, clears its edit mark and removes its reactions; a reaction
// adds or removes its holder (a no-op change is still an entry).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE room_events
      ADD COLUMN reply_to bigint,
      ADD COLUMN mentions uuid[] NOT NULL DEFAULT '{}',
      ADD COLUMN edited_seq bigint,
      ADD COLUMN edited_at timestamptz,
      ADD COLUMN deleted_seq bigint,
      ADD COLUMN deleted_at timestamptz,
      ADD COLUMN deleted_by uuid REFERENCES users (id) ON DELETE SET NULL`.execute(db)
  // A message's amendments: for scrubbing on delete and for history pages.
  await sql`
    CREATE INDEX room_events_target_idx ON room_events (room_id, target_seq)
      WHERE target_seq IS NOT NULL`.execute(db)
  await sql`
    CREATE TABLE message_reactions (
      room_id uuid NOT NULL,
      message_seq bigint NOT NULL,
      emoji text NOT NULL,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      PRIMARY KEY (room_id, message_seq, emoji, user_id),
      FOREIGN KEY (room_id, message_seq) REFERENCES room_events (room_id, seq) ON DELETE CASCADE
    )`.execute(db)

  await sql`
    CREATE FUNCTION ferry_append_ops(
      p_room uuid[], p_author uuid[], p_client uuid[], p_body text[], p_after uuid[],
      p_kind text[], p_target_seq bigint[], p_target_client uuid[], p_reaction text[],
      p_mention_names text[], p_mentions_max int
    ) RETURNS TABLE (
      idx int, outcome text, seq bigint, kind text, client_id uuid, body text,
      target_seq bigint, reaction text, created_at timestamptz, reply_to bigint, mentions uuid[]
    ) LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      v_rooms uuid[];
      v_last bigint[];
      v_next bigint[];
      v_at int;
      v_event room_events%ROWTYPE;
      v_target room_events%ROWTYPE;
      v_stored boolean;
      v_kind text;
      v_mentions uuid[];
    BEGIN
      SELECT array_agg(r.id ORDER BY r.id), array_agg(r.last_seq ORDER BY r.id)
        INTO v_rooms, v_last
        FROM (SELECT id, last_seq FROM rooms WHERE id = ANY(p_room) ORDER BY id FOR UPDATE) AS r;
      v_next := v_last;
      FOR i IN 1 .. coalesce(array_length(p_room, 1), 0) LOOP
        idx := i - 1;
        v_at := array_position(v_rooms, p_room[i]);
        v_kind := p_kind[i];
        IF v_kind IS NULL THEN
          -- A plain send: ferry_append_batch's path, statement for statement.
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
        ELSE
          -- An operation, a reply or a message with @names: each refusal probed in the promised order.
          SELECT * INTO v_event FROM room_events e
            WHERE e.room_id = p_room[i] AND e.author_id = p_author[i] AND e.client_id = p_client[i];
          IF FOUND THEN
            outcome := 'duplicate';
          ELSE
            v_event := NULL;
            v_target := NULL;
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
              IF p_target_seq[i] IS NOT NULL THEN
                SELECT * INTO v_target FROM room_events e
                  WHERE e.room_id = p_room[i] AND e.seq = p_target_seq[i] AND e.kind = 'message.created';
              ELSIF p_target_client[i] IS NOT NULL THEN
                SELECT * INTO v_target FROM room_events e
                  WHERE e.room_id = p_room[i] AND e.author_id = p_author[i]
                    AND e.client_id = p_target_client[i] AND e.kind = 'message.created';
              END IF;
              IF (p_target_seq[i] IS NOT NULL OR p_target_client[i] IS NOT NULL) AND v_target.seq IS NULL THEN
                outcome := 'target_not_found';
              ELSIF v_kind <> 'message.created' AND v_target.deleted_seq IS NOT NULL THEN
                outcome := 'target_deleted';
              ELSIF v_kind = 'message.edited' AND v_target.author_id IS DISTINCT FROM p_author[i] THEN
                outcome := 'forbidden';
              ELSIF v_kind = 'message.deleted' AND v_target.author_id IS DISTINCT FROM p_author[i] AND NOT EXISTS (
                SELECT 1 FROM room_members m
                WHERE m.room_id = p_room[i] AND m.user_id = p_author[i] AND m.role IN ('owner', 'admin')
              ) THEN
                outcome := 'forbidden';
              ELSE
                v_mentions := '{}';
                IF p_mention_names[i] IS NOT NULL THEN
                  -- Members only, in order of first mention, at most p_mentions_max; others stay plain text.
                  SELECT coalesce(array_agg(x.id ORDER BY x.ord), '{}') INTO v_mentions FROM (
                    SELECT u.id, n.ord
                      FROM unnest(string_to_array(p_mention_names[i], ' ')) WITH ORDINALITY AS n(name, ord)
                      JOIN users u ON lower(u.username) = n.name
                      JOIN room_members m ON m.room_id = p_room[i] AND m.user_id = u.id
                      ORDER BY n.ord LIMIT p_mentions_max
                  ) AS x;
                END IF;
                INSERT INTO room_events (
                  room_id, seq, kind, author_id, client_id, body, target_seq, reaction, reply_to, mentions
                ) VALUES (
                  p_room[i], v_next[v_at] + 1, v_kind, p_author[i], p_client[i], p_body[i],
                  CASE WHEN v_kind <> 'message.created' THEN v_target.seq END, p_reaction[i],
                  CASE WHEN v_kind = 'message.created' THEN v_target.seq END, v_mentions
                ) RETURNING * INTO v_event;
                v_next[v_at] := v_event.seq;
                outcome := 'created';
                IF v_kind = 'message.edited' THEN
                  UPDATE room_events e SET edited_seq = v_event.seq, edited_at = v_event.created_at
                    WHERE e.room_id = p_room[i] AND e.seq = v_target.seq;
                ELSIF v_kind = 'message.deleted' THEN
                  UPDATE room_events e SET body = NULL, mentions = '{}', edited_seq = NULL, edited_at = NULL,
                      deleted_seq = v_event.seq, deleted_at = v_event.created_at, deleted_by = p_author[i]
                    WHERE e.room_id = p_room[i] AND e.seq = v_target.seq;
                  UPDATE room_events e SET body = NULL, mentions = '{}'
                    WHERE e.room_id = p_room[i] AND e.target_seq = v_target.seq AND e.kind = 'message.edited';
                  DELETE FROM message_reactions r WHERE r.room_id = p_room[i] AND r.message_seq = v_target.seq;
                ELSIF v_kind = 'reaction.added' THEN
                  INSERT INTO message_reactions (room_id, message_seq, emoji, user_id, seq)
                    VALUES (p_room[i], v_target.seq, p_reaction[i], p_author[i], v_event.seq)
                    ON CONFLICT DO NOTHING;
                ELSIF v_kind = 'reaction.removed' THEN
                  DELETE FROM message_reactions r
                    WHERE r.room_id = p_room[i] AND r.message_seq = v_target.seq
                      AND r.emoji = p_reaction[i] AND r.user_id = p_author[i];
                END IF;
              END IF;
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
        reply_to := v_event.reply_to;
        mentions := v_event.mentions;
        RETURN NEXT;
      END LOOP;
      UPDATE rooms SET last_seq = k.last_seq
        FROM unnest(v_rooms, v_next, v_last) AS k(id, last_seq, before)
        WHERE rooms.id = k.id AND k.last_seq <> k.before;
    END
    $fn$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP FUNCTION ferry_append_ops(
      uuid[], uuid[], uuid[], text[], uuid[], text[], bigint[], uuid[], text[], text[], int)`.execute(db)
  await sql`DROP TABLE message_reactions`.execute(db)
  await sql`DROP INDEX room_events_target_idx`.execute(db)
  await sql`
    ALTER TABLE room_events
      DROP COLUMN reply_to, DROP COLUMN mentions, DROP COLUMN edited_seq, DROP COLUMN edited_at,
      DROP COLUMN deleted_seq, DROP COLUMN deleted_at, DROP COLUMN deleted_by`.execute(db)
}
