/**
 * Candidate changes of the append, measured as pg-append variants beside the
 * real `ferry_append_batch` (issue 14; `BENCH_PG_APPEND_SET=levers`).
 *
 * "ferry, one UPDATE per room": the real function, except that the batch's
 * rooms are not locked `FOR UPDATE` and then updated at the end, but updated
 * first, one UPDATE per room in id order (the same lock order, so batches
 * still never deadlock), each moving `last_seq` by the number of the batch's
 * writes to that room, as if all were stored; the row lock comes with the
 * UPDATE. Only when a write was not stored (a duplicate or a refusal: rare) a
 * second UPDATE sets `last_seq` to the last seq really stored, so it stays
 * gap-free. One row version per room and batch instead of a lock record and a
 * row version.
 *
 * "ferry, UPDATE first for ≤ 4 writes or one room": that for a batch of at
 * most 4 writes or of one room (one UPDATE statement per room is dearer than
 * the lock and the set UPDATE once a batch holds many rooms), else the real
 * function's `FOR UPDATE` and one UPDATE at the end.
 *
 * "ferry, generic plans (a copy …)": `ferry_append_batch` as it is, copied
 * with `SET plan_cache_mode = force_generic_plan` in its definition, so the
 * sliced mode can interleave it (the default set's "ferry, generic plans"
 * alters the real function for its pass instead). PL/pgSQL otherwise plans
 * the per-write INSERT (and its membership sub-select) for each call's array
 * values.
 *
 * "ferry, a fresh copy (A/A)": `ferry_append_batch` as it is under another
 * name: the noise floor of a comparison, and a guard against the trap found
 * on 2026-12-07 (docs/BENCHMARKS.md): when the real function had stored the
 * seed history before ANALYZE, its fresh copies, every lever among them, ran
 * 10–15 % cheaper, which once passed for a lever's gain.
 */
import { type Kysely, sql } from 'kysely'

export const LEVERS = [
  'ferry, one UPDATE per room',
  'ferry, UPDATE first for ≤ 4 writes or one room',
  'ferry, generic plans (a copy with SET plan_cache_mode)',
  'ferry, a fresh copy (A/A)',
] as const
export type Lever = (typeof LEVERS)[number]

export const LEVER_FUNCTIONS: Record<Lever, string> = {
  'ferry, one UPDATE per room': 'ferry_append_batch_update_first',
  'ferry, UPDATE first for ≤ 4 writes or one room': 'ferry_append_batch_hybrid',
  'ferry, generic plans (a copy with SET plan_cache_mode)': 'ferry_append_batch_generic',
  'ferry, a fresh copy (A/A)': 'ferry_append_batch_copy',
}

export async function setUpLevers(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION ferry_append_batch_update_first(
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
  await sql`
    CREATE FUNCTION ferry_append_batch_hybrid(
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
  const { rows } = await sql<{ definition: string }>`
    SELECT pg_get_functiondef('ferry_append_batch(uuid[], uuid[], uuid[], text[], uuid[])'::regprocedure) AS definition`.execute(
    db,
  )
  const definition = rows[0]!.definition
  if (!definition.includes('FUNCTION public.ferry_append_batch(') || !definition.includes('\nAS $function$'))
    throw new Error('ferry_append_batch changed: the levers cannot copy it')
  await sql
    .raw(
      definition
        .replace('FUNCTION public.ferry_append_batch(', 'FUNCTION ferry_append_batch_generic(')
        .replace('\nAS $function$', '\n SET plan_cache_mode TO force_generic_plan\nAS $function$'),
    )
    .execute(db)
  await sql
    .raw(definition.replace('FUNCTION public.ferry_append_batch(', 'FUNCTION ferry_append_batch_copy('))
    .execute(db)
}
